"""Load a mapping file: YAML with locations → checked against the format's JSON Schema → model.

``read_mapping`` never raises on a bad file: it returns the findings (for ``lint``).
Loading for use (lint too, raise :class:`~ebi_mapper.errors.MappingError` carrying the findings,
for ``map``/``run``) is :func:`ebi_mapper.app.load_mapping`, above lint: this module never imports
lint's checks (``tests/test_structure.py::test_no_import_cycle``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from ..locations import Finding, has_errors
from .model import Bespoke, BespokeRule, Expr, FieldSet, FieldSpec, Loc, Mapping, MappingTest, Rule
from .yaml_source import MAX_FILE_BYTES, LocatedDocument, Path_, paused_gc, read_yaml

__all__ = ["LoadResult", "read_mapping", "mapping_schema", "parse_utc_timestamp", "literal_expression"]


@dataclass
class LoadResult:
    """What reading a mapping file gave: the model (when it could be built) and every finding."""

    path: str
    mapping: Mapping | None
    findings: list[Finding] = field(default_factory=list)
    doc: LocatedDocument | None = None
    # For a file with format errors: a model of the parts that loaded, so that lint can report
    # every independent finding in one pass. Never used to map (``mapping`` stays None).
    partial: Mapping | None = None
    broken: frozenset[str] = frozenset()  # top-level parts left out of ``partial`` ("rules": some rules)

    @property
    def ok(self) -> bool:
        return self.mapping is not None and not has_errors(self.findings)


@lru_cache(maxsize=1)
def mapping_schema() -> dict[str, Any]:
    """The JSON Schema of the mapping file format (package data)."""
    text = resources.files("ebi_mapper.mapping").joinpath("mapping.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _schema_validator() -> Any:
    # jsonschema is imported on this error path only: a valid file never needs it (start-up).
    import jsonschema

    return jsonschema.Draft202012Validator(mapping_schema())


@lru_cache(maxsize=1)
def _fast_is_valid() -> Callable[[Any], bool]:
    # The compiled validator answers "valid?" ~50x faster than jsonschema on a 2,000-rule file;
    # only a file it refuses is walked again by jsonschema, whose errors carry the paths we report.
    return jsonschema_rs.validator_for(mapping_schema()).is_valid


def _path_text(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_findings(doc: LocatedDocument) -> tuple[list[Finding], list[Path_]]:
    """The format's findings, and the paths (into the document) of the parts they are about."""
    findings: list[Finding] = []
    broken: list[Path_] = []
    try:
        if _fast_is_valid()(doc.data):
            return findings, broken
    except (ValueError, TypeError, OverflowError):  # a value the compiled validator cannot take (e.g. NaN)
        pass
    for error in sorted(_schema_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        broken.append(path)
        where = _path_text(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key in allowed or not allowed:
                    continue
                near = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else f"; allowed: {', '.join(allowed)}"
                findings.append(Finding(doc.key_loc(path + (key,)), "error", "unknown-key", f"{where}: unknown key {key!r}{hint}"))
            continue
        if error.validator == "required":
            findings.append(Finding(doc.loc(path), "error", "missing-key", f"{where}: {error.message}"))
            continue
        if error.validator == "oneOf" and error.context and path and path[-1] == "each":
            findings.append(
                Finding(doc.loc(path), "error", "schema", f"{where}: expected an expression string or {{outer: ..., inner: ...}} (two expressions), got {json.dumps(error.instance, default=str)[:80]}")
            )
            continue
        if error.validator == "oneOf" and error.context:
            # A field spec: say what forms are accepted rather than every branch's complaint.
            findings.append(
                Finding(
                    doc.loc(path),
                    "error",
                    "schema",
                    f"{where}: expected an expression string, {{expr: ..., nulls: ..., default: ...}} or {{value: ...}}, got {json.dumps(error.instance, default=str)[:80]}",
                )
            )
            continue
        findings.append(Finding(doc.loc(path), "error", "schema", f"{where}: {error.message}"))
    findings.sort(key=lambda f: (f.loc.line, f.loc.col))
    return findings, broken


def parse_utc_timestamp(text: str) -> datetime | None:
    """Parse a timestamp that must carry an explicit UTC offset (``Z`` or ``+00:00``); None if it does not."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    offset = value.utcoffset()  # None exactly when the value is naive
    if offset is None or offset.total_seconds() != 0:
        return None
    return value.astimezone(UTC)


def literal_expression(value: Any) -> str:
    """A JMESPath literal expression that evaluates to ``value`` (for ``{value: ...}`` fields)."""
    return "`" + json.dumps(value, ensure_ascii=False).replace("`", "\\`") + "`"


class _ModelBuilder:
    def __init__(self, doc: LocatedDocument):
        self.doc = doc
        self.file = doc.file
        self.field_sets: dict[str, FieldSet] = {}
        self.findings: list[Finding] = []

    def each(self, path: Path_, data: dict[str, Any]) -> tuple[Expr | None, Expr | None]:
        """``each:`` as (outer, inner): an expression, or ``{outer: ..., inner: ...}`` for two levels."""
        spec = data.get("each")
        if spec is None:
            return None, None
        if isinstance(spec, str):
            return self.expr(path + ("each",), spec), None
        return self.expr(path + ("each", "outer"), spec["outer"]), self.expr(path + ("each", "inner"), spec["inner"])

    def lets(self, path: Path_, data: dict[str, Any]) -> tuple[dict[str, FieldSpec], dict[str, Loc]]:
        written = data.get("let") or {}
        specs = {k: FieldSpec(self.expr(path + ("let", k), v), loc=self.doc.loc(path + ("let", k))) for k, v in written.items()}
        return specs, {k: self.doc.key_loc(path + ("let", k)) for k in written}

    def field_set(self, name: str, data: dict[str, Any]) -> FieldSet:
        path = ("fields", name)
        lets, let_locs = self.lets(path, data)
        context = data.get("context") or {}
        return FieldSet(
            name=name,
            lets=lets,
            context={k: self.field(path + ("context", k), v) for k, v in context.items()},
            loc=self.doc.key_loc(path),
            let_locs=let_locs,
            context_locs={k: self.doc.key_loc(path + ("context", k)) for k in context},
        )

    def merged(self, path: Path_, data: dict[str, Any]) -> dict[str, Any]:
        """The rule's lets and context with those of the field sets it extends (its own override theirs)."""
        lets: dict[str, FieldSpec] = {}
        let_locs: dict[str, Loc] = {}
        context: dict[str, FieldSpec] = {}
        context_locs: dict[str, Loc] = {}
        origins: dict[str, str] = {}
        extends = tuple(data.get("extends") or ())
        for j, name in enumerate(extends):
            fset = self.field_sets.get(name)
            if fset is None:
                near = difflib.get_close_matches(name, list(self.field_sets), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else f" (declared: {', '.join(self.field_sets) or 'none'})"
                self.findings.append(Finding(self.doc.loc(path + ("extends", j)), "error", "unknown-field-set", f"rule {data['name']!r} extends {name!r}, which is not a field set under fields:{hint}"))
                continue
            for key, spec in fset.lets.items():
                lets.pop(key, None)  # a later definition takes the later place: it may use the earlier ones
                lets[key], let_locs[key], origins[f"let.{key}"] = spec, fset.let_locs[key], name
            for key, spec in fset.context.items():
                context[key], context_locs[key], origins[f"context.{key}"] = spec, fset.context_locs[key], name
        own_lets, own_let_locs = self.lets(path, data)
        for key, spec in own_lets.items():
            lets.pop(key, None)
            lets[key], let_locs[key] = spec, own_let_locs[key]
            origins.pop(f"let.{key}", None)
        for key, value in (data.get("context") or {}).items():
            context[key] = self.field(path + ("context", key), value)
            context_locs[key] = self.doc.key_loc(path + ("context", key))
            origins.pop(f"context.{key}", None)
        extends_locs = tuple(self.doc.loc(path + ("extends", j)) for j in range(len(extends)))
        return dict(lets=lets, let_locs=let_locs, context=context, context_locs=context_locs, origins=origins, extends=extends, extends_locs=extends_locs)

    def expr(self, path: Path_, text: str) -> Expr:
        return Expr(text, self.doc.text_loc(path))

    def field(self, path: Path_, spec: Any) -> FieldSpec:
        if isinstance(spec, str):
            loc, text_loc = self.doc.value_and_text_loc(path)
            return FieldSpec(Expr(spec, text_loc), loc=loc)
        loc = self.doc.loc(path)
        if "value" in spec:
            return FieldSpec(Expr(literal_expression(spec["value"]), self.doc.loc(path + ("value",))), loc=loc)
        return FieldSpec(
            self.expr(path + ("expr",), spec["expr"]),
            nulls=spec.get("nulls"),
            default=spec.get("default"),
            has_default="default" in spec,
            loc=loc,
        )

    def opt_expr(self, path: Path_, data: dict[str, Any], key: str) -> Expr | None:
        return self.expr(path + (key,), data[key]) if key in data else None

    def rule(self, i: int, data: dict[str, Any]) -> Rule:
        path = ("rules", i)
        outer, inner = self.each(path, data)
        return Rule(
            name=data["name"],
            event=data["event"],
            customer=self.field(path + ("customer",), data["customer"]),
            timestamp=self.field(path + ("timestamp",), data["timestamp"]),
            loc=self.doc.loc(path),
            when=self.opt_expr(path, data, "when"),
            each=outer,
            each_inner=inner,
            currency=self.opt_expr(path, data, "currency"),
            version=self.opt_expr(path, data, "version"),
            nulls=data.get("nulls"),
            event_loc=self.doc.loc(path + ("event",)),
            **self.merged(path, data),
        )

    def bespoke(self, data: dict[str, Any], skip: frozenset[int] = frozenset()) -> Bespoke:
        rules = []
        for i, r in enumerate(data.get("rules") or []):
            if i in skip:
                continue
            path = ("bespoke", "rules", i)
            outer, inner = self.each(path, r)
            rules.append(
                BespokeRule(
                    name=r.get("name", f"bespoke-{i + 1}"),
                    customer=self.field(path + ("customer",), r["customer"]),
                    timestamp=self.field(path + ("timestamp",), r["timestamp"]),
                    attributes={k: self.field(path + ("attributes", k), v) for k, v in r["attributes"].items()},
                    loc=self.doc.loc(path),
                    when=self.opt_expr(path, r, "when"),
                    each=outer,
                    each_inner=inner,
                )
            )
        return Bespoke(route=data.get("route", "data_studio"), rules=tuple(rules), loc=self.doc.loc(("bespoke",)))

    def tests(self, items: list[Any] | None, base: tuple[str | int, ...], doc: LocatedDocument | None = None) -> list[MappingTest]:
        doc = doc or self.doc
        return [
            MappingTest(name=t["name"], payload=t["payload"], expect=t.get("expect") or {}, loc=doc.loc(base + (i,)), now=t.get("now"))
            for i, t in enumerate(items or [])
        ]

    def mapping(self, path: str, *, data: dict[str, Any] | None = None, skip_rules: frozenset[int] = frozenset(),
                skip_bespoke_rules: frozenset[int] = frozenset()) -> tuple[Mapping | None, list[Finding]]:
        """Build the model from the document (or from ``data``, its salvaged parts, leaving out the
        rules at the ``skip_*`` indexes; the others keep their index, hence their locations)."""
        data = self.doc.data if data is None else data
        findings: list[Finding] = []
        go_live = None
        if "go_live" in data:
            go_live = parse_utc_timestamp(str(data["go_live"]))
            if go_live is None:
                findings.append(
                    Finding(self.doc.loc(("go_live",)), "error", "go-live", f"go_live {data['go_live']!r} is not a UTC timestamp (write e.g. '2026-12-01T00:00:00Z')")
                )
        guards = dict(data.get("guards") or {})
        skew = guards.get("future_skew")
        skew_seconds = 300.0
        if isinstance(skew, dict) and "seconds" in skew:
            seconds = skew["seconds"]
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < float("inf"):
                skew_seconds = float(seconds)
            else:
                findings.append(
                    Finding(self.doc.loc(("guards", "future_skew", "seconds")), "error", "schema", f"guards.future_skew.seconds: expected a number of seconds >= 0, got {seconds!r}")
                )
        self.field_sets = {name: self.field_set(name, spec) for name, spec in (data.get("fields") or {}).items()}
        mapping = Mapping(
            path=path,
            client=data["client"],
            vertical=data["vertical"],
            tenant=data["tenant"],
            site_currency=data["site_currency"],
            rules=tuple(self.rule(i, r) for i, r in enumerate(data["rules"]) if i not in skip_rules),
            go_live=go_live,
            source_timezone=data.get("source_timezone", "UTC"),
            channels=tuple(data.get("channels") or ()),
            nulls=data.get("nulls", "drop"),
            dst=data.get("dst", "earlier"),
            partial_profiles=data.get("partial_profiles"),
            future_skew_seconds=skew_seconds,
            bespoke=self.bespoke(data["bespoke"], skip_bespoke_rules) if data.get("bespoke") else None,
            tables=dict(data.get("tables") or {}),
            field_sets=self.field_sets,
            plugins=tuple(data.get("plugins") or ()),
            tests=tuple(self.tests(data.get("tests"), ("tests",))),
            delivery=dict(data.get("delivery") or {}),
            serve=dict(data.get("serve") or {}),
            guards=guards,
            enrichers=tuple((e["name"], dict(e.get("options") or {})) for e in data.get("enrichers") or ()),
            ebi_mapping=data["ebi_mapping"],
            locs={k: self.doc.key_loc((k,)) for k in data},
            raw=data,
        )
        return mapping, findings + self.findings


# Placeholders for required top-level values that did not load; the checks that read them skip
# (``CheckContext.loaded``), so a placeholder never produces a finding of its own.
_PLACEHOLDERS = {"ebi_mapping": 1, "client": "", "vertical": None, "tenant": 0, "site_currency": None, "rules": []}


def _salvage(doc: LocatedDocument, file: str, broken: list[Path_]) -> tuple[Mapping | None, frozenset[str]]:
    """The parts of a file with format errors that are whole: every top-level key but the broken
    ones, every rule but those with an error inside. For lint only."""
    data = dict(doc.data)
    skip_rules: set[int] = set()
    skip_bespoke: set[int] = set()
    parts: set[str] = set()
    for path in broken:
        if not path:
            continue  # a missing or unknown top-level key: the placeholders below, or not in the model
        top = path[0]
        if top == "rules" and len(path) > 1 and isinstance(path[1], int):
            skip_rules.add(path[1])
            parts.add("rules")
        elif top == "bespoke" and len(path) > 2 and path[1] == "rules" and isinstance(path[2], int):
            skip_bespoke.add(path[2])
            parts.add("bespoke")
        elif isinstance(top, str):
            data.pop(top, None)
            parts.add(top)
    for key, placeholder in _PLACEHOLDERS.items():
        if key not in data:
            data[key] = placeholder
            parts.add(key)
    try:
        mapping, _ = _ModelBuilder(doc).mapping(file, data=data, skip_rules=frozenset(skip_rules),
                                                skip_bespoke_rules=frozenset(skip_bespoke))
    except (KeyError, TypeError, AttributeError, ValueError):  # a shape the schema refused in a way not foreseen here
        return None, frozenset(parts)
    return mapping, frozenset(parts)


def _sibling_tests(path: Path, builder: _ModelBuilder) -> tuple[list[MappingTest], list[Finding]]:
    """Read ``<name>.tests.yaml`` beside ``<name>.yaml``: a list of cases or ``{tests: [...]}``."""
    sibling = path.with_name(path.stem + ".tests.yaml")
    if not sibling.is_file():
        return [], []
    doc = read_yaml(sibling.read_bytes(), str(sibling))
    if doc.findings:
        return [], doc.findings
    items = doc.data
    base: tuple[str, ...] = ()
    if isinstance(items, dict):
        items, base = items.get("tests"), ("tests",)
    import jsonschema  # here only: see _schema_validator

    schema = mapping_schema()["properties"]["tests"]
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(items))
    if errors:
        return [], [Finding(doc.loc(base + tuple(e.absolute_path)), "error", "schema", f"tests: {e.message}") for e in errors]
    return builder.tests(items, base, doc), []


def read_mapping(source: str | Path, *, text: str | bytes | None = None, max_bytes: int = MAX_FILE_BYTES) -> LoadResult:
    """Read and check the format of a mapping file; never raises for a bad file."""
    with paused_gc():
        return _read_mapping(source, text, max_bytes)


def _read_mapping(source: str | Path, text: str | bytes | None, max_bytes: int) -> LoadResult:
    path = Path(source)
    file = str(source)
    if text is None:
        try:
            size = path.stat().st_size
            if size > max_bytes:
                return LoadResult(file, None, [Finding(Loc(file, 1, 1), "error", "file-too-large", f"file is {size:,} bytes; mapping files are limited to {max_bytes:,} bytes")])
            text = path.read_bytes()
        except OSError as exc:
            return LoadResult(file, None, [Finding(Loc(file, 1, 1), "error", "io", f"cannot read file: {exc.strerror or exc}")])
    doc = read_yaml(text, file, max_bytes=max_bytes)
    result = LoadResult(file, None, list(doc.findings), doc)
    if doc.findings:
        return result
    if not isinstance(doc.data, dict):
        result.findings.append(Finding(doc.loc(()), "error", "schema", "a mapping file is a YAML mapping (key: value) at the top level"))
        return result
    schema_findings, broken = _schema_findings(doc)
    result.findings.extend(schema_findings)
    if schema_findings:
        result.partial, result.broken = _salvage(doc, file, broken)
        return result
    builder = _ModelBuilder(doc)
    mapping, findings = builder.mapping(file)
    result.findings.extend(findings)
    if mapping is not None and path.suffix in (".yaml", ".yml") and not path.name.endswith(".tests.yaml"):
        extra, extra_findings = _sibling_tests(path, builder)
        result.findings.extend(extra_findings)
        if extra:
            from dataclasses import replace

            mapping = replace(mapping, tests=mapping.tests + tuple(extra))
    result.mapping = mapping
    return result
