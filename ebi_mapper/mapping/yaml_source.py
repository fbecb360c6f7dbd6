"""Read a YAML document safely while keeping the line and column of every node.

PyYAML's safe loader forgets where values came from, accepts duplicate keys silently (the last
one wins) and expands aliases without limit (the "billion laughs" bomb). Mapping files are
written by hand and linted, so we compose the node graph ourselves and:

- record the location of every key and value by its path (``("rules", 0, "context", "x")``);
- report duplicate keys;
- refuse tags that are not plain YAML (no ``!!python/...``, no custom tags);
- cap the number of nodes built, aliases included, so an alias bomb is refused, not expanded;
- refuse files over a size limit before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..lint.findings import Finding
from .model import Loc

__all__ = ["LocatedDocument", "read_yaml", "MAX_FILE_BYTES", "MAX_NODES", "Path_"]

MAX_FILE_BYTES = 2 * 1024 * 1024  # a mapping is a few hundred lines; 2 MiB is generous
MAX_NODES = 500_000  # values built, aliases counted each time they are used

# libyaml composes ~10x faster and keeps marks; lint of a 2,000-rule mapping must stay under 1 s.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple  # a path of keys and indexes into the document

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}


@dataclass
class LocatedDocument:
    """A plain Python document plus the location of each value and key, by path."""

    file: str
    data: Any = None
    value_locs: dict[Path_, Loc] = field(default_factory=dict)
    key_locs: dict[Path_, Loc] = field(default_factory=dict)
    # offset to add to a value's column to reach the first character of its text
    # (1 for quoted scalars, whose text starts after the quote)
    text_offsets: dict[Path_, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def loc(self, path: Path_) -> Loc:
        """The location of the value at ``path``, or of its nearest located ancestor."""
        path = tuple(path)
        while path:
            if path in self.value_locs:
                return self.value_locs[path]
            path = path[:-1]
        return self.value_locs.get((), Loc(self.file, 1, 1))

    def key_loc(self, path: Path_) -> Loc:
        """The location of the key that introduces ``path`` (falls back to the value's)."""
        return self.key_locs.get(tuple(path)) or self.loc(path)

    def text_loc(self, path: Path_, offset: int = 0) -> Loc:
        """Location of character ``offset`` inside the scalar text at ``path`` (for expressions)."""
        base = self.loc(path)
        extra = self.text_offsets.get(tuple(path), 0)
        return Loc(base.file, base.line, base.col + extra + offset)


def _loc(file: str, mark: yaml.Mark) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, doc: LocatedDocument):
        self.doc = doc
        self.count = 0
        self.constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self.constructor)

    def error(self, mark: yaml.Mark, code: str, message: str) -> None:
        self.doc.findings.append(Finding(_loc(self.doc.file, mark), "error", code, message))

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
        if depth > 100:
            raise _TooDeep(node)
        self.doc.value_locs.setdefault(path, _loc(self.doc.file, node.start_mark))
        if node.tag not in _PLAIN_TAGS:
            self.error(node.start_mark, "yaml-tag", f"tag {node.tag!r} is not allowed: mapping files are plain YAML")
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("'", '"'):
                self.doc.text_offsets[path] = 1
            try:
                value = self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                self.error(node.start_mark, "yaml-syntax", f"cannot read value: {getattr(exc, 'problem', exc)}")
                return None
            if node.tag == "tag:yaml.org,2002:timestamp":
                # keep timestamps as written: the mapping decides how to read them
                return node.value
            return value
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.error(key_node.start_mark, "yaml-merge", "merge keys ('<<') are not supported; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node.start_mark, "yaml-key", "keys must be plain strings")
                continue
            key = key_node.value
            if key in result:
                first = self.doc.key_locs.get(path + (key,))
                where = f" (first at line {first.line})" if first else ""
                self.error(key_node.start_mark, "duplicate-key", f"key {key!r} appears twice in the same mapping{where}")
                continue
            self.doc.key_locs[path + (key,)] = _loc(self.doc.file, key_node.start_mark)
            result[key] = self.build(value_node, path + (key,), depth + 1)
        return result


class _TooBig(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


class _TooDeep(_TooBig):
    pass


def read_yaml(text: str | bytes, file: str = "<mapping>", *, max_bytes: int = MAX_FILE_BYTES) -> LocatedDocument:
    """Parse one YAML document; problems become findings on the returned document, never exceptions."""
    doc = LocatedDocument(file=file)
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        doc.findings.append(
            Finding(Loc(file, 1, 1), "error", "file-too-large", f"file is {size:,} bytes; mapping files are limited to {max_bytes:,} bytes")
        )
        return doc
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            doc.findings.append(Finding(Loc(file, line, 1), "error", "encoding", f"file is not UTF-8 (byte {exc.start})"))
            return doc
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(file, mark) if mark else Loc(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        doc.findings.append(Finding(loc, "error", "yaml-syntax", f"YAML syntax: {problem}"))
        return doc
    except yaml.YAMLError as exc:
        doc.findings.append(Finding(Loc(file, 1, 1), "error", "yaml-syntax", f"YAML syntax: {exc}"))
        return doc
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        doc.findings.append(Finding(Loc(file, 1, 1), "error", "empty", "file holds no YAML document"))
        return doc
    if len(nodes) > 1:
        doc.findings.append(Finding(_loc(file, nodes[1].start_mark), "error", "multiple-documents", "a mapping file holds exactly one YAML document"))
        return doc
    builder = _Builder(doc)
    try:
        doc.data = builder.build(nodes[0], ())
    except _TooDeep as exc:
        doc.data = None
        doc.findings.append(Finding(_loc(file, exc.node.start_mark), "error", "too-deep", "nesting deeper than 100 levels"))
    except _TooBig as exc:
        doc.data = None
        doc.findings.append(
            Finding(_loc(file, exc.node.start_mark), "error", "too-many-nodes", f"document expands to more than {MAX_NODES:,} values (alias bomb?)")
        )
    return doc
