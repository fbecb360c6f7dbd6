"""Hypothesis strategies of source payloads shaped by a mapping's own expressions.

``payloads(mapping, rule)`` draws payloads that reach the rule: the ``when`` equality tests hold,
every path the rule reads is there with a value of the kind its use suggests (numeric strings
for amounts, every time form, ids above 2^53), ``each`` arrays have zero to a few elements. A
share of payloads (``1 - validity``) is deliberately broken: some read paths missing, null or of
the wrong type. ``generated_payloads`` draws the same payloads labelled with what was broken,
which the properties use to tell a rejection the input deserved from one the mapping caused.
With ``source_schema`` (a JSON Schema of the client's payloads) every payload is valid against
it: hypothesis-jsonschema draws the base and the shaped values are laid over it where the schema
allows them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path as FsPath
from typing import Any

from hypothesis import strategies as st

from ..app import load_mapping
from ..errors import UnknownNameError
from ..mapping.model import BespokeRule, Mapping, Rule
from .shapes import ELEMENTS, VALUES, Arr, Leaf, Node, Obj, Path, RuleShape, compatible, mapping_shapes, merge_tree
from .values import ANY_JSON, ID_TEXT, Kind, TimeSettings, valid_time_forms, valid_values, wrong_values

__all__ = ["DEFECT_KINDS", "Defect", "GeneratedPayload", "payloads", "generated_payloads", "fragile_spots", "time_forms", "json_path", "resolve_mapping"]

UTC = UTC
_ABSENT = object()
DEFECT_KINDS = ("missing", "null", "wrong")
_PERCENT = st.sampled_from(range(100))


def json_path(path: Path) -> str:
    """A payload path as ``$.data.items[*].price``."""
    out = "$"
    for step in path:
        if step == ELEMENTS:
            out += "[*]"
        elif step == VALUES:
            out += ".*"
        elif isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}"
    return out


@dataclass(frozen=True)
class Defect:
    """One deliberately broken spot of a generated payload: ``missing``, ``null`` or ``wrong`` (type or form)."""

    path: Path
    what: str

    def __str__(self) -> str:
        return f"{json_path(self.path)} {self.what}"


@dataclass(frozen=True)
class GeneratedPayload:
    """A generated payload, the rule it was shaped for, and what in it was broken on purpose."""

    payload: Any
    rule: str = ""
    defects: tuple[Defect, ...] = ()
    from_schema: bool = False  # drawn valid against the client's source schema

    @property
    def valid(self) -> bool:
        """Nothing was broken on purpose: the mapping must map it without a rejection."""
        return not self.defects


def resolve_mapping(mapping: Any) -> Mapping:
    """A :class:`Mapping` from a Mapping, a compiled Mapper, or a path to a mapping file."""
    if isinstance(mapping, Mapping):
        return mapping
    inner = getattr(mapping, "mapping", None)
    if isinstance(inner, Mapping):
        return inner
    if isinstance(mapping, (str, FsPath)):
        return load_mapping(mapping)
    raise TypeError(f"expected a Mapping, a Mapper or a mapping file path, not {type(mapping).__name__}")


def _shape_for(mapping: Mapping, rule: Any) -> RuleShape:
    shapes = mapping_shapes(mapping)
    name = rule.name if isinstance(rule, (Rule, BespokeRule)) else rule
    try:
        return shapes[name]
    except KeyError:
        raise UnknownNameError(f"mapping {mapping.path or mapping.client!r} has no rule {name!r} (it has {', '.join(shapes)})") from None


def _sharing(mapping: Mapping, shape: RuleShape) -> list[RuleShape]:
    """The rule and every other rule the same payload may also match."""
    return [shape] + [other for other in mapping_shapes(mapping).values() if other is not shape and compatible(shape, other)]


def _tree_for(mapping: Mapping, shape: RuleShape) -> Node | None:
    """The rule's own tree plus the paths of every rule the same payload may also match."""
    tree = None
    for other in _sharing(mapping, shape):
        tree = merge_tree(tree, other.tree)
    return tree


def _time_settings(mapping: Mapping) -> TimeSettings:
    start = datetime(2001, 1, 1, tzinfo=UTC)
    if mapping.go_live is not None:
        start = max(mapping.go_live, datetime(1970, 1, 2, tzinfo=UTC))
    end = datetime(2099, 12, 1, tzinfo=UTC)
    if start > end - timedelta(days=30):
        start = end - timedelta(days=30)
    return TimeSettings(zone=mapping.source_timezone or "UTC", start=start, end=end, dst_reject=mapping.dst == "reject")


class _Drawer:
    """Draws one payload from a shape tree, recording the defects it puts in."""

    def __init__(self, mapping: Mapping, max_items: int, time_form: str | None = None) -> None:
        self.times = _time_settings(mapping)
        self.time_form = time_form
        self.currency = mapping.site_currency
        self.tables = mapping.tables
        self.max_items = max_items
        self._valid: dict[Kind, st.SearchStrategy[Any]] = {}  # strategies are built once, drawn from often
        self._wrong: dict[Kind, st.SearchStrategy[Any]] = {}

    def valid(self, kind: Kind) -> st.SearchStrategy[Any]:
        if kind not in self._valid:
            self._valid[kind] = valid_values(kind, times=self.times, site_currency=self.currency, tables=self.tables, time_form=self.time_form)
        return self._valid[kind]

    def wrong(self, node: Node) -> st.SearchStrategy[Any]:
        kind = node.kind if isinstance(node, Leaf) else Kind("object" if isinstance(node, Obj) else "string_list")
        if kind not in self._wrong:
            self._wrong[kind] = wrong_values(kind, site_currency=self.currency)
        return self._wrong[kind]

    def node(self, draw: Any, node: Node, path: Path, defects: list[Defect], targets: dict[Path, str]) -> Any:
        what = targets.get(path)
        if what is not None:
            defect = Defect(path, what)
            if defect not in defects:
                defects.append(defect)
            if what == "missing":
                return _ABSENT
            if what == "null":
                return None
            return draw(self.wrong(node))
        if isinstance(node, Leaf):
            return draw(self.valid(node.kind))
        if isinstance(node, Arr):
            count = draw(st.integers(node.min_size, max(node.min_size, self.max_items)))
            items = [self.node(draw, node.element, path + (ELEMENTS,), defects, targets) for _ in range(count)]
            return [item for item in items if item is not _ABSENT]
        out: dict[str, Any] = {}
        for key, child in node.children.items():
            if key == "*" and node.values:
                for name in draw(st.lists(ID_TEXT, max_size=2, unique=True)):
                    value = self.node(draw, child, path + (VALUES,), defects, targets)
                    if value is not _ABSENT:
                        out[name] = value
                continue
            value = self.node(draw, child, path + (key,), defects, targets)
            if value is not _ABSENT:
                out[key] = value
        return out


def _node_paths(node: Node, path: Path = ()) -> list[Path]:
    """Every path of the tree below the root, parents before children."""
    out = [path] if path else []
    if isinstance(node, Obj):
        for key, child in node.children.items():
            out += _node_paths(child, path + ((VALUES if key == "*" and node.values else key),))
    elif isinstance(node, Arr):
        out += _node_paths(node.element, path + (ELEMENTS,))
    return out


def _fragile(mapping: Mapping, shape: RuleShape, spots: list[Path]) -> list[Path]:
    return [p for p in spots if any(p in other.fragile for other in _sharing(mapping, shape))]


def fragile_spots(mapping: Any, rule: Any) -> list[Path]:
    """The payload paths of ``rule`` (and rules matching the same payloads) read by computed expressions.

    A plain path copes with any input; a function, an ``||`` or a filter is where a missing, null
    or odd value turns into a mapping bug, so these are the spots worth breaking one at a time.
    """
    mapping = resolve_mapping(mapping)
    shape = _shape_for(mapping, rule)
    return _fragile(mapping, shape, _node_paths(_tree_for(mapping, shape) or Obj()))


def _reads_time_text(node: Node | None) -> bool:
    """Whether the tree has a leaf holding a time in any form (kind ``time``)."""
    if isinstance(node, Leaf):
        return node.kind.name == "time"
    if isinstance(node, Arr):
        return _reads_time_text(node.element)
    return isinstance(node, Obj) and any(_reads_time_text(child) for child in node.children.values())


def time_forms(mapping: Any, rule: Any) -> tuple[str, ...]:
    """The forms a valid time in ``rule``'s payloads may take, for ``generated_payloads(time_form=...)``.

    Empty when the rule (and the rules matching the same payloads) reads no time that may come in
    several forms. Random payloads meet some forms rarely (Hypothesis favours the first of a
    choice), so the runner sweeps these one by one: a naive local time must be met at least once.
    """
    mapping = resolve_mapping(mapping)
    shape = _shape_for(mapping, rule)
    return valid_time_forms(_time_settings(mapping)) if _reads_time_text(_tree_for(mapping, shape)) else ()


def _units(node: Node, value: Any, path: Path):
    """``(path, value, must)`` pieces of a shaped payload to lay over a schema-drawn one."""
    if isinstance(node, Obj) and not node.values and isinstance(value, dict):
        for key, child in node.children.items():
            if key in value:
                yield from _units(child, value[key], path + (key,))
        return
    yield path, value, isinstance(node, Leaf) and node.discriminator


def _set(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    out = dict(doc) if isinstance(doc, dict) else {}
    out[path[0]] = _set(out.get(path[0]), path[1:], value)
    return out


_SCHEMA_STRATEGIES: dict[str, tuple[Any, Any]] = {}


def _schema_tools(schema: dict) -> tuple[st.SearchStrategy[Any], Any]:
    key = json.dumps(schema, sort_keys=True, default=str)
    if key not in _SCHEMA_STRATEGIES:
        from .source_schema import source_schema_strategy, source_schema_validator

        _SCHEMA_STRATEGIES[key] = (source_schema_strategy(schema), source_schema_validator(schema))
    return _SCHEMA_STRATEGIES[key]


def generated_payloads(
    mapping: Any,
    rule: Any = None,
    *,
    source_schema: dict | None = None,
    validity: float = 0.5,
    max_items: int = 3,
    broken: dict[Path, str] | None = None,
    time_form: str | None = None,
) -> st.SearchStrategy[GeneratedPayload]:
    """Labelled payloads for ``rule`` (a name or a Rule; ``None``: every rule, plus arbitrary JSON).

    :param mapping: a :class:`Mapping`, a compiled mapper, or a mapping file path.
    :param source_schema: a JSON Schema of the client's payloads; payloads are then always valid against it.
    :param validity: the share of payloads with nothing broken on purpose (0..1).
    :param max_items: the most elements an ``each`` array or projection gets (empty ones too).
    :param broken: break exactly these spots, ``{path: 'missing'|'null'|'wrong'}`` (paths as in
        :func:`fragile_spots`), instead of choosing by ``validity``.
    :param time_form: write every valid time (of kind ``time``) in this one form, a name from
        :func:`time_forms` (``'naive_iso'``, ``'epoch_ms'``, ``'dst_edge'``...), instead of any form.
    """
    if not 0.0 <= validity <= 1.0:
        raise ValueError(f"validity must be between 0 and 1, not {validity!r}")
    if broken and any(what not in DEFECT_KINDS for what in broken.values()):
        raise ValueError(f"broken spots must be one of {', '.join(DEFECT_KINDS)}")
    mapping = resolve_mapping(mapping)
    if time_form is not None and time_form not in valid_time_forms(_time_settings(mapping)):
        raise ValueError(f"time_form must be one of {', '.join(valid_time_forms(_time_settings(mapping)))}, not {time_form!r}")
    if rule is None:
        choices = [
            generated_payloads(mapping, name, source_schema=source_schema, validity=validity, max_items=max_items, broken=broken, time_form=time_form)
            for name in mapping_shapes(mapping)
        ]
        if validity < 1.0 and source_schema is None:
            choices.append(ANY_JSON.map(lambda p: GeneratedPayload(p, "", (Defect((), "wrong"),))))
        return st.one_of(choices)
    shape = _shape_for(mapping, rule)
    tree = _tree_for(mapping, shape) or Obj()
    drawer = _Drawer(mapping, max_items, time_form)
    threshold = round(validity * 100)

    if source_schema is not None:
        base_strategy, validator = _schema_tools(source_schema)

        @st.composite
        def from_source_schema(draw: Any) -> GeneratedPayload:
            base = draw(base_strategy)
            shaped = drawer.node(draw, tree, (), [], {})
            if isinstance(base, dict):
                for path, value, must in _units(tree, shaped, ()):
                    # With one time form asked for, every shaped value goes in where the schema
                    # allows it, so the time in that form reaches the rule (the form is the point).
                    if must or time_form is not None or draw(st.booleans()):
                        candidate = _set(copy.deepcopy(base), path, value)
                        if validator.is_valid(candidate):
                            base = candidate
            return GeneratedPayload(base, shape.name, (), True)

        return from_source_schema()

    # A broken payload has one to three broken spots, so a rejection is easy to pin on its cause
    # and shrinking ends at a single one.
    # Half the broken spots are paths read by computed expressions (functions, `||`, filters):
    # a plain path copes with anything, a computed one is where a missing value turns into a bug.
    spots = _node_paths(tree)
    fragile = _fragile(mapping, shape, spots)
    where = st.one_of(st.sampled_from(fragile), st.sampled_from(spots)) if fragile else st.sampled_from(spots) if spots else None
    breakage = st.dictionaries(where, st.sampled_from(DEFECT_KINDS), min_size=1, max_size=3) if where is not None else st.just({})

    @st.composite
    def shaped_payload(draw: Any) -> GeneratedPayload:
        if broken:
            targets = dict(broken)
        else:
            defective = draw(_PERCENT) >= threshold  # uniform, unlike st.integers, which favours small values
            targets = draw(breakage) if defective else {}
        defects: list[Defect] = []
        payload = drawer.node(draw, tree, (), defects, targets)
        return GeneratedPayload(payload if payload is not _ABSENT else {}, shape.name, tuple(defects))

    return shaped_payload()


def payloads(
    mapping: Any,
    rule: Any = None,
    *,
    source_schema: dict | None = None,
    validity: float = 0.5,
    max_items: int = 3,
) -> st.SearchStrategy[Any]:
    """Source payloads shaped by ``rule``'s expressions (see :func:`generated_payloads` for the options)."""
    return generated_payloads(mapping, rule, source_schema=source_schema, validity=validity, max_items=max_items).map(lambda g: g.payload)
