"""Read a YAML document safely while keeping the line and column of every node.

PyYAML's safe loader forgets where values came from, accepts duplicate keys silently (the last
one wins) and expands aliases without limit (the "billion laughs" bomb). Mapping files are
written by hand and linted, so we compose the node graph ourselves and:

- record the location of every key and value by its path (``("rules", 0, "context", "x")``),
  and can say where character ``n`` of a string value is written, inside quotes, escapes and
  block scalars alike (:meth:`LocatedDocument.text_loc`), so lint points *into* expressions;
- report duplicate keys;
- refuse tags that are not plain YAML (no ``!!python/...``, no custom tags);
- measure what the document would expand to before building it, so an alias bomb is refused
  at once instead of being expanded up to a limit;
- refuse files over a size limit before parsing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..locations import Finding
from .model import Loc

__all__ = ["LocatedDocument", "read_yaml", "paused_gc", "scalar_positions", "MAX_FILE_BYTES", "MAX_NODES", "MAX_DEPTH", "Path_"]

MAX_FILE_BYTES = 2 * 1024 * 1024  # a mapping is a few hundred lines; 2 MiB is generous
MAX_NODES = 500_000  # values the document expands to, each use of an alias counted again
MAX_DEPTH = 100

Path_ = tuple[str | int, ...]  # a path of keys and indexes into the document

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
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"

# libyaml composes ~10x faster than the pure-Python parser and keeps marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader with implicit-tag resolution memoised.

    libyaml calls back into Python's resolver for every scalar; a mapping repeats the same keys
    and short values thousands of times, and resolution depends only on the text (we register
    no path resolvers), so the answer is cached per (kind, text, implicit).
    """

    _resolved: dict = {}

    def resolve(self, kind, value, implicit):
        if type(value) is not str or len(value) > 64:  # only short scalars repeat; never keep big texts alive
            return super().resolve(kind, value, implicit)
        key = (kind, value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._resolved) < 50_000:
                self._resolved[key] = tag
        return tag


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is built.

    Reading a 2,000-rule mapping allocates ~10^5 acyclic objects (nodes, marks, dicts); each
    allocation burst triggers full collections that walk all of them again, which made reading
    2-5x slower than the work itself. Reference counting frees everything meanwhile; the
    collector resumes, as it was, when the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class LocatedDocument:
    """A plain Python document plus the location of each value and key, by path."""

    file: str
    data: Any = None
    findings: list[Finding] = field(default_factory=list)
    source: str = ""  # the decoded text, for locating characters inside string values
    # path -> (line, col, start index, end index, scalar style or None): Loc objects are built
    # only when asked for, which keeps reading a 2,000-rule mapping fast
    _values: dict = field(default_factory=dict, repr=False)
    _keys: dict = field(default_factory=dict, repr=False)  # path -> (line, col)
    _text_starts: dict | None = field(default=None, repr=False)  # (line, col) -> path, built on demand

    def loc(self, path: Path_) -> Loc:
        """The location of the value at ``path``, or of its nearest located ancestor."""
        path = tuple(path)
        values = self._values
        while path:
            mark = values.get(path)
            if mark is not None:
                return Loc(self.file, mark[0], mark[1])
            path = path[:-1]
        mark = values.get(())
        return Loc(self.file, mark[0], mark[1]) if mark else Loc(self.file, 1, 1)

    def key_loc(self, path: Path_) -> Loc:
        """The location of the key that introduces ``path`` (falls back to the value's)."""
        mark = self._keys.get(tuple(path))
        return Loc(self.file, mark[0], mark[1]) if mark else self.loc(path)

    def has(self, path: Path_) -> bool:
        """True when a value is written at ``path``."""
        return tuple(path) in self._values

    def value_and_text_loc(self, path: Path_) -> tuple[Loc, Loc]:
        """``(loc(path), text_loc(path))`` with one lookup: the same Loc for a plain scalar (the common case)."""
        mark = self._values.get(path)
        if mark is not None and mark[4] is None:
            loc = Loc(self.file, mark[0], mark[1])
            return loc, loc
        return self.loc(path), self.text_loc(path)

    def text_loc(self, path: Path_, offset: int = 0) -> Loc:
        """Where character ``offset`` of the string value at ``path`` is written.

        Exact for every scalar style (plain, quoted with escapes, ``|`` and ``>`` blocks, folded
        over several lines); ``offset == len(value)`` is the place just after the text.
        """
        path = tuple(path)
        mark = self._values.get(path)
        if mark is None:
            return self.loc(path)
        line, col, start, end, style = mark
        if style in (None, "'", '"') and 0 <= offset and "\n" not in self.source[start:end]:
            # one line, no escapes before the offset: plain arithmetic (the common case)
            first = start + (1 if style else 0)
            prefix = self.source[first : first + offset]
            escaped = (style == '"' and "\\" in prefix) or (style == "'" and "'" in prefix)
            if len(prefix) == offset and not escaped:
                return Loc(self.file, line, col + (1 if style else 0) + offset)
        positions = scalar_positions(self.source, start, end, style, self._value_at(path))
        if positions is None or offset < 0 or offset >= len(positions):
            return Loc(self.file, line, col)
        return self._loc_of_index(positions[offset])

    def text_loc_at(self, loc: Loc, offset: int) -> Loc:
        """Like :meth:`text_loc`, for the string value whose text starts at ``loc``."""
        if self._text_starts is None:
            starts: dict = {}
            for path, (_, _, start, end, style) in self._values.items():
                if style is not None or end > start:
                    text = self.text_loc(path)
                    starts.setdefault((text.line, text.col), path)
            self._text_starts = starts
        path = self._text_starts.get((loc.line, loc.col))
        if path is None:
            return Loc(loc.file, loc.line, loc.col + offset)
        return self.text_loc(path, offset)

    def _value_at(self, path: Path_) -> Any:
        value = self.data
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    def _loc_of_index(self, index: int) -> Loc:
        line_start = self.source.rfind("\n", 0, index) + 1
        return Loc(self.file, self.source.count("\n", 0, index) + 1, index - line_start + 1)


_ESCAPES = yaml.scanner.Scanner.ESCAPE_REPLACEMENTS  # '\\n' -> newline, ...
_HEX_ESCAPES = yaml.scanner.Scanner.ESCAPE_CODES  # 'x' -> 2 hex digits, 'u' -> 4, 'U' -> 8


def scalar_positions(src: str, start: int, end: int, style: str | None, value: Any) -> list[int] | None:
    """The source index of each character of a scalar's value, then of the place just after it.

    ``start``/``end`` are the node's marks and ``style`` its scalar style. The folding rules of
    YAML (line breaks to spaces, blank lines to newlines, indentation and quotes removed, escapes)
    are replayed over the source; the result is only returned when replaying them rebuilds
    ``value`` exactly, so a position is never guessed (None otherwise).
    """
    if not isinstance(value, str):
        return None
    if style in ("|", ">"):
        rebuilt = _block_chars(src, start, end, style)
        if rebuilt is None:
            return None
        chars, positions, after = rebuilt
        body = "".join(chars).rstrip("\n")
        if body != value.rstrip("\n"):
            return None
        positions = positions[: len(body)]
        positions += [after] * (len(value) - len(positions))  # the newlines chomping keeps
        return positions + [after]
    chars, positions, after = _flow_chars(src, start, end, style)
    if "".join(chars) != value:
        return None
    return positions + [after]


def _lines(src: str, begin: int, end: int) -> list[tuple[int, int]]:
    """(start, end) source indexes of each line in ``src[begin:end]``, without line breaks."""
    lines = []
    while True:
        brk = src.find("\n", begin, end)
        if brk < 0:
            lines.append((begin, end))
            return lines
        stop = brk - 1 if brk > begin and src[brk - 1] == "\r" else brk
        lines.append((begin, stop))
        begin = brk + 1


def _flow_chars(src: str, start: int, end: int, style: str | None) -> tuple[list[str], list[int], int]:
    """Replay plain and quoted scalars: folding, trimming, and ``''`` / backslash escapes."""
    body_start, body_end = (start + 1, end - 1) if style else (start, end)
    lines = _lines(src, body_start, body_end)
    chars: list[str] = []
    positions: list[int] = []
    empties, joined, last = 0, False, len(lines) - 1
    for k, (a, b) in enumerate(lines):
        if k > 0:
            while a < b and src[a] in " \t":
                a += 1
        escaped_break = False
        if k < last:
            if style == '"' and _ends_in_escape(src, a, b):
                b, escaped_break = b - 1, True
            else:
                while b > a and src[b - 1] in " \t":
                    b -= 1
        if k > 0:
            if a == b and k < last and not escaped_break:
                empties += 1
                continue
            if not joined:
                brk = lines[k - 1][1]
                chars.extend("\n" * empties if empties else " ")
                positions.extend([brk] * (empties or 1))
            empties = 0
        joined = escaped_break
        i = a
        while i < b:
            c = src[i]
            if style == '"' and c == "\\" and i + 1 < b:
                code = src[i + 1]
                if code in _HEX_ESCAPES:
                    width = _HEX_ESCAPES[code]
                    try:
                        chars.append(chr(int(src[i + 2 : i + 2 + width], 16)))
                    except ValueError:
                        chars.append(c)
                    positions.append(i)
                    i += 2 + width
                    continue
                chars.append(_ESCAPES.get(code, code))
                positions.append(i)
                i += 2
                continue
            if style == "'" and c == "'" and src.startswith("''", i):
                chars.append("'")
                positions.append(i)
                i += 2
                continue
            chars.append(c)
            positions.append(i)
            i += 1
    return chars, positions, body_end


def _ends_in_escape(src: str, a: int, b: int) -> bool:
    """True when the line ends in an unescaped backslash (a double-quoted escaped line break)."""
    n = 0
    while b - n - 1 >= a and src[b - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _block_chars(src: str, start: int, end: int, style: str) -> tuple[list[str], list[int], int] | None:
    """Replay ``|`` and ``>`` block scalars: indentation removed, ``>`` folding (chomping is left to the caller)."""
    header_end = src.find("\n", start, end)
    if header_end < 0:
        return None
    indent = None
    content: list[tuple[int, int] | None] = []  # None for a blank line
    for a, b in _lines(src, header_end + 1, end):
        text = src[a:b]
        if not text.strip(" "):
            content.append(None)
            continue
        lead = len(text) - len(text.lstrip(" "))
        if indent is None:
            indent = lead
        if lead < indent:  # a less-indented line (a comment, the next key) ends the scalar
            break
        content.append((a + indent, b))
    if indent is None:
        return None
    while content and content[-1] is None:
        content.pop()
    chars: list[str] = []
    positions: list[int] = []
    empties, previous = 0, None  # previous: the last content line
    for line in content:
        if line is None:
            empties += 1
            if style == "|":
                chars.append("\n")
                positions.append(previous[1] if previous else header_end)
            continue
        a, b = line
        if previous is not None:
            if style == "|":
                chars.append("\n")
                positions.append(previous[1])
            else:
                more_indented = src[a] in " \t" or src[previous[0]] in " \t"
                count = empties + 1 if more_indented else empties
                chars.extend("\n" * count if count else " ")
                positions.extend([previous[1]] * (count or 1))
        elif style == ">" and empties:
            chars.extend("\n" * empties)
            positions.extend([header_end] * empties)
        empties = 0
        chars.extend(src[a:b])
        positions.extend(range(a, b))
        previous = line
    after = previous[1] if previous else header_end
    return chars, positions, after


class _Refused(Exception):
    """The document cannot be built: ``code``/``message`` say why, at ``node``."""

    def __init__(self, node: yaml.Node, code: str, message: str):
        self.node, self.code, self.message = node, code, message


def _expanded_size(root: yaml.Node) -> None:
    """Raise :class:`_Refused` if building ``root`` would make too many values or nest too deep.

    Sizes are memoised per node object, so an alias costs one lookup here however large its
    expansion: a billion-laughs document is refused after visiting its few hundred real nodes.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise _Refused(node, "too-deep", f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            return 1
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in open_nodes:
            raise _Refused(node, "recursive-alias", "an alias refers to a value that contains it")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
        else:
            for _key_node, value_node in node.value:
                total += 1 + size(value_node, depth + 1)
        if total > MAX_NODES:
            raise _Refused(node, "too-many-nodes", f"this value expands to more than {MAX_NODES:,} values (an alias bomb?); write it out without aliases")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


class _Builder:
    """Turns the composed node graph into plain data, recording marks and refusing what is unsafe."""

    def __init__(self, doc: LocatedDocument):
        self.doc = doc
        self.file = doc.file
        self.values = doc._values
        self.keys = doc._keys
        self.constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self.constructor)
        self.scalar_constructors = self.constructor.yaml_constructors

    def error(self, mark: yaml.Mark, code: str, message: str) -> None:
        self.doc.findings.append(Finding(_loc(self.file, mark), "error", code, message))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        start, end = node.start_mark, node.end_mark
        if path not in self.values:  # an alias keeps the location of its anchor
            style = node.style if isinstance(node, yaml.ScalarNode) else None
            self.values[path] = (start.line + 1, start.column + 1, start.index, end.index, style or None)
        tag = node.tag
        if tag not in _PLAIN_TAGS:
            self.error(start, "yaml-tag", f"tag {_shown_tag(tag)} is not allowed: mapping files are plain YAML")
            return None
        if isinstance(node, yaml.ScalarNode):
            if tag == _STR or tag == _TIMESTAMP:
                # timestamps stay as written: the mapping decides how to read them
                return node.value
            try:
                return self.scalar_constructors[tag](self.constructor, node)
            except (yaml.YAMLError, ValueError) as exc:
                self.error(start, "yaml-syntax", f"cannot read value: {getattr(exc, 'problem', exc)}")
                return None
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.error(key_node.start_mark, "yaml-merge", "merge keys ('<<') are not supported; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node.start_mark, "yaml-key", "keys must be plain strings")
                continue
            key = key_node.value
            key_path = path + (key,)
            if key in result:
                first = self.keys.get(key_path)
                where = f" (first at line {first[0]})" if first else ""
                self.error(key_node.start_mark, "duplicate-key", f"key {key!r} appears twice in the same mapping{where}")
                continue
            if key_node.tag not in _PLAIN_TAGS:
                self.error(key_node.start_mark, "yaml-tag", f"tag {_shown_tag(key_node.tag)} is not allowed: mapping files are plain YAML")
                continue
            self.keys[key_path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, key_path)
        return result


def _is_empty(node: yaml.Node) -> bool:
    """An empty document (``---`` alone) composes to an untagged empty null scalar."""
    return isinstance(node, yaml.ScalarNode) and node.value == "" and node.tag == "tag:yaml.org,2002:null" and not node.style


def _shown_tag(tag: str) -> str:
    """The tag as it is written: ``!!python/...`` rather than its expanded ``tag:yaml.org,2002:...``."""
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _loc(file: str, mark: yaml.Mark) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


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
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line_start = raw.rfind(b"\n", 0, exc.start) + 1
            line = raw.count(b"\n", 0, exc.start) + 1
            col = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
            doc.findings.append(
                Finding(Loc(file, line, col), "error", "encoding", f"file is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot be decoded")
            )
            return doc
    if text.startswith("\ufeff"):
        text = text[1:]  # a BOM is legal UTF-8 but would shift every column on the first line
    doc.source = text
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(file, mark) if mark else Loc(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        context = ""
        if exc.context and exc.problem:
            # "while parsing a flow sequence": say where it started, often the real mistake
            started = exc.context_mark
            where = f" started at line {started.line + 1}, column {started.column + 1}" if started and started is not mark else ""
            context = f" ({exc.context}{where})"
        doc.findings.append(Finding(loc, "error", "yaml-syntax", f"YAML syntax: {problem}{context}"))
        return doc
    except yaml.YAMLError as exc:
        doc.findings.append(Finding(Loc(file, 1, 1), "error", "yaml-syntax", f"YAML syntax: {exc}"))
        return doc
    nodes = [n for n in nodes if n is not None and not _is_empty(n)]
    if not nodes:
        doc.findings.append(Finding(Loc(file, 1, 1), "error", "empty", "file holds no YAML document"))
        return doc
    if len(nodes) > 1:
        doc.findings.append(Finding(_loc(file, nodes[1].start_mark), "error", "multiple-documents", "a mapping file holds exactly one YAML document"))
        return doc
    try:
        _expanded_size(nodes[0])
    except _Refused as exc:
        doc.findings.append(Finding(_loc(file, exc.node.start_mark), "error", exc.code, exc.message))
        return doc
    doc.data = _Builder(doc).build(nodes[0], ())
    return doc
