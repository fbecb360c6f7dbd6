"""The payload shape a mapping's rules read, worked out from their JMESPath expressions.

For each rule: the tree of source paths its expressions read (objects, arrays for ``each`` and
projections, leaves with a suggested :class:`~.values.Kind`), the ``when`` equality tests that
select it, and for each output field the source paths it reads and whether a missing or null
source may reject it. The strategies build payloads from the tree; the properties use the field
reads to tell a rejection caused by a broken input from one caused by the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any

from ..catalog import load_catalog
from ..catalog.model import Catalog, Param
from ..expressions import compile_expression, equality_tests, field_paths, simple_path
from ..mapping.model import BespokeRule, FieldSpec, Mapping, Rule
from .values import Kind, combine_kinds, compare_kind, text_kind, truthy_kind

__all__ = ["Path", "Leaf", "Obj", "Arr", "Node", "FieldReads", "RuleShape", "mapping_shapes", "rule_names", "merge_tree", "compatible", "param_kind"]

Path = tuple[str | int, ...]
ELEMENTS = "[]"
VALUES = "*"
ANY = Kind("any")


# --- the tree --------------------------------------------------------------------------------


@dataclass
class Leaf:
    kind: Kind
    discriminator: bool = False  # a `when` equality test: valid payloads always carry its literal


@dataclass
class Obj:
    children: dict[str, Node] = field(default_factory=dict)
    values: bool = False  # read as `obj.*`: any keys


@dataclass
class Arr:
    element: Node
    min_size: int = 0  # an index read (`items[2]`) needs that many elements to be valid


Node = Leaf | Obj | Arr


def _merge_kind(old: Kind, new: Kind) -> Kind:
    return combine_kinds(old, new)


def _insert(node: Node | None, path: Path, leaf: Leaf) -> Node:
    """``node`` with ``path`` added; containers win over leaves, the more specific kind over the vaguer."""
    if not path:
        if node is None:
            return Leaf(leaf.kind, leaf.discriminator)
        if isinstance(node, Leaf):
            if node.discriminator and not leaf.discriminator:
                return node
            if leaf.discriminator and not node.discriminator:
                return Leaf(leaf.kind, True)
            return Leaf(_merge_kind(node.kind, leaf.kind), node.discriminator)
        return node  # read both as a whole and inside: keep the structure
    step, rest = path[0], path[1:]
    if step == ELEMENTS or (isinstance(step, int) and not isinstance(step, bool)):
        min_size = step + 1 if isinstance(step, int) and step >= 0 else (1 if isinstance(step, int) else 0)
        if isinstance(node, Arr):
            node.element = _insert(node.element, rest, leaf)
            node.min_size = max(node.min_size, min_size)
            return node
        if isinstance(node, Obj):
            return node
        return Arr(_insert(None, rest, leaf), min_size)
    if step == VALUES:
        if not isinstance(node, Obj):
            if isinstance(node, Arr):
                return node
            node = Obj(values=True)
        node.values = True
        node.children["*"] = _insert(node.children.get("*"), rest, leaf)
        return node
    if isinstance(node, Arr):
        return node
    if not isinstance(node, Obj):
        node = Obj()
    node.children[str(step)] = _insert(node.children.get(str(step)), rest, leaf)
    return node


def merge_tree(base: Node | None, other: Node | None) -> Node | None:
    """Every path of ``other`` added to ``base`` (``base``'s kinds win)."""
    if other is None:
        return base
    for path, leaf in _leaves(other, ()):
        base = _insert(base, path, Leaf(leaf.kind, leaf.discriminator)) if not _has(base, path) else base
    return base


def _leaves(node: Node, path: Path):
    if isinstance(node, Leaf):
        yield path, node
    elif isinstance(node, Obj):
        if not node.children:
            yield path, Leaf(Kind("object"))
        for key, child in node.children.items():
            yield from _leaves(child, path + ((VALUES if key == "*" and node.values else key),))
    else:
        yield from _leaves(node.element, path + ((node.min_size - 1) if node.min_size else ELEMENTS,))


def _has(node: Node | None, path: Path) -> bool:
    for step in path:
        if isinstance(node, Obj):
            node = node.children.get("*" if step == VALUES else str(step))
        elif isinstance(node, Arr):
            node = node.element
        else:
            return False
    return node is not None


# --- reading expressions ---------------------------------------------------------------------

# What a function's arguments should hold, by position (None: no suggestion; "inherit": whatever
# the caller expects of the function's result).
_STRING, _NUMBER, _INTEGER, _BOOL, _TIME = Kind("string"), Kind("number"), Kind("integer"), Kind("boolean"), Kind("time")
_ARG_KINDS: dict[str, Any] = {
    "to_utc": (_TIME, Kind("zone")),
    "parse_time": (None, None, Kind("zone")),
    "to_epoch_millis": (_TIME,),
    "from_epoch_seconds": (Kind("epoch", "s"),),
    "from_epoch_millis": (Kind("epoch", "ms"),),
    "from_epoch_micros": (Kind("epoch", "us"),),
    "lower": "text_of_use",
    "upper": "text_of_use",
    "trim": "text_of_use",
    "split": (_STRING, None),
    "replace": (_STRING, None, None),
    "starts_with": (_STRING, None),
    "ends_with": (_STRING, None),
    "reverse": (_STRING,),
    "length": (_STRING,),
    "round": ("number_of_use", None),
    "add": (_NUMBER, _NUMBER),
    "subtract": (_NUMBER, _NUMBER),
    "multiply": (_NUMBER, _NUMBER),
    "divide": (_NUMBER, _NUMBER),
    "minor_to_major": (_INTEGER, None),
    "abs": ("number_of_use",),
    "ceil": ("number_of_use",),
    "floor": ("number_of_use",),
    "to_number": ("number_of_use",),
    "avg": (Kind("number_list"),),
    "sum": (Kind("number_list"),),
    "max": (Kind("number_list"),),
    "min": (Kind("number_list"),),
    "sort": (Kind("string_list"),),
    "join": (None, Kind("string_list")),
    "keys": (Kind("object"),),
    "values": (Kind("object"),),
    "yes_no": (_BOOL,),
    "to_string": "use_or_id",
    "odds_decimal": (Kind("odds"),),
    "odds_american": (Kind("decimal_odds"),),
    "odds_fraction": (Kind("decimal_odds"),),
    "allocate": (Kind("money"), None, None, None),
    "to_flag": (_BOOL,),
    "if": ("condition", "inherit", "inherit"),
    "coalesce": "inherit",
    "not_null": "inherit",
    "to_array": "inherit",
    "concat": "string_args",
}


# The uses a wrapping function passes on to its argument: `upper(data.currency)` still needs a
# currency code, `to_string(player.id)` still an id, `round(amount, 2)` still an amount.
_VAGUE = ("any", "string")
_CONDITION = Kind("condition")  # the value's truthiness decides (a `when`, a filter)
_NEGATED = Kind("negated")  # under `!`: the value must be false
_FLIP = {"eq": "ne", "ne": "eq", "lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}
_MIRROR = {"eq": "eq", "ne": "ne", "lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}


def _arg_hint(spec: Any, hint: Kind) -> Kind:
    """What a function's argument should hold, given the spec and what the caller needs of the result."""
    if hint in (_CONDITION, _NEGATED):
        hint = ANY
    if spec == "inherit":
        return hint
    if spec == "condition":
        return _CONDITION
    if spec == "string_args":
        return hint if hint.name in ("id", "string") else _STRING
    if spec == "text_of_use":
        return text_kind(hint) if hint.name not in _VAGUE else _STRING
    if spec == "use_or_id":
        return hint if hint.name not in _VAGUE else Kind("id")
    if spec == "number_of_use":
        # JSON numbers pass through to_number/abs/round unchanged: an epoch, a compared number stays one
        return hint if hint.name in ("number", "json_number", "integer", "int_id", "epoch", "compare", "money") else _NUMBER
    return spec if isinstance(spec, Kind) else ANY


def _literal_of(node: AbcMapping) -> tuple[bool, Any]:
    """``(True, value)`` for a literal, including a list of literals written ``['a', 'b']``."""
    if node["type"] == "literal":
        return True, node["value"]
    if node["type"] == "multi_select_list" and all(c["type"] == "literal" for c in node["children"]):
        return True, [c["value"] for c in node["children"]]
    return False, None


def _element_kind(hint: Kind) -> Kind:
    """A projection builds the list itself: what a list-wanting caller needs of each element."""
    if hint.name == "number_list":
        return Kind("json_number")  # sum()/max() take JSON numbers only, not numeric strings
    if hint.name == "string_list":
        return Kind("id")
    return hint


def _literal_kind(value: Any) -> Kind:
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, (int, float)):
        return _NUMBER
    return ANY


class _KindWalker:
    """Abstract evaluation like ``field_paths``, carrying what kind each read path should hold.

    In a condition (a rule's ``when``, a filter) the common forms become what makes them true:
    ``a == 'x'``, ``a == 'x' || a == 'y'`` and ``contains(['x', 'y'], a)`` one of the literals;
    ``a > `0``` numbers above 0; ``starts_with(a, 'p')`` text starting with ``p``; a bare ``a``
    a true value and ``!a`` a false one; ``!`` flips the comparisons under it.
    """

    def __init__(self, tables: dict) -> None:
        self.reads: list[tuple[Path, Kind]] = []
        self.tables = tables

    def consume(self, node: AbcMapping, base: Path | None, hint: Kind) -> None:
        path = self.walk(node, base, hint)
        if path is not None:
            projected = node["type"] in ("projection", "value_projection", "filter_projection")
            self.reads.append((path, _element_kind(hint) if projected else self._leaf_kind(hint)))

    @staticmethod
    def _leaf_kind(hint: Kind) -> Kind:
        if hint == _CONDITION:
            return truthy_kind(ANY)
        if hint == _NEGATED:
            return Kind("falsy")
        return hint

    def walk(self, node: AbcMapping, base: Path | None, hint: Kind) -> Path | None:
        kind, children = node["type"], node.get("children", [])
        if kind in ("field", "index"):
            return None if base is None else base + (node["value"],)
        if kind in ("current", "identity", "slice"):
            return base
        if kind in ("subexpression", "index_expression", "pipe"):
            for child in children:
                base = self.walk(child, base, ANY)
            return base
        if kind in ("flatten", "key_val_pair"):
            return self.walk(children[0], base, hint)
        if kind in ("projection", "value_projection"):
            left = self.walk(children[0], base, ANY)
            step = ELEMENTS if kind == "projection" else VALUES
            return self.walk(children[1], None if left is None else left + (step,), _element_kind(hint))
        if kind == "filter_projection":
            left = self.walk(children[0], base, ANY)
            elements = None if left is None else left + (ELEMENTS,)
            self.consume(children[2], elements, _CONDITION)
            return self.walk(children[1], elements, _element_kind(hint))
        if kind == "function_expression":
            self._function(node, base, hint)
            return None
        if kind == "comparator":
            self._comparator(node, base, negated=hint == _NEGATED)
            return None
        if kind == "or_expression":
            for child in children:
                self.consume(child, base, hint)
            return None
        if kind == "and_expression":
            # In a condition both sides must be true (under `!`, making both false is one way).
            self.consume(children[0], base, hint if hint in (_CONDITION, _NEGATED) else ANY)
            self.consume(children[1], base, hint)
            return None
        if kind == "not_expression":
            inner = _NEGATED if hint == _CONDITION else _CONDITION if hint == _NEGATED else ANY
            self.consume(children[0], base, inner)
            return None
        if kind in ("multi_select_list", "multi_select_dict"):
            for child in children:
                self.consume(child, base, ANY)
        return None

    def _comparator(self, node: AbcMapping, base: Path | None, *, negated: bool = False) -> None:
        left, right = node["children"]
        op = _FLIP[node["value"]] if negated else node["value"]
        for side, other, side_op in ((left, right, op), (right, left, _MIRROR[op])):
            if other["type"] == "literal":
                value = other["value"]
                if side_op == "eq" and isinstance(value, (str, int, float, bool)):
                    hint = Kind("choice", (value,))
                elif side_op in ("gt", "gte", "lt", "lte") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    hint = compare_kind(side_op, value)
                else:
                    hint = _literal_kind(value) if side_op != "ne" else ANY
                self.consume(side, base, hint)
                return
        self.consume(left, base, ANY)
        self.consume(right, base, ANY)

    def _condition_function(self, name: str, args: list, base: Path | None) -> bool:
        """``contains``/``starts_with``/``ends_with`` with literals, read as what makes them true."""
        if name == "contains" and len(args) == 2:
            is_list, values = _literal_of(args[0])
            if is_list and isinstance(values, list) and values and all(isinstance(v, (str, int, float, bool)) for v in values):
                self.consume(args[1], base, Kind("choice", tuple(dict.fromkeys(values))))
                return True
            is_lit, value = _literal_of(args[1])
            if is_lit and isinstance(value, (str, int, float, bool)):
                self.consume(args[0], base, Kind("contains", value))
                return True
        if name in ("starts_with", "ends_with") and len(args) == 2:
            is_lit, value = _literal_of(args[1])
            if is_lit and isinstance(value, str):
                self.consume(args[0], base, Kind("affix", (value, "") if name == "starts_with" else ("", value)))
                return True
        return False

    def _function(self, node: AbcMapping, base: Path | None, hint: Kind) -> None:
        name, args = node["value"], node["children"]
        if hint == _CONDITION and self._condition_function(name, args, base):
            return
        if name in ("sort_by", "min_by", "max_by") and len(args) == 2 and args[1]["type"] == "expref":
            array = self.walk(args[0], base, ANY)
            if array is not None:
                self.reads.append((array + (ELEMENTS,), Kind("object")))
            self.consume(args[1]["children"][0], None if array is None else array + (ELEMENTS,), ANY)
            return
        if name == "map" and len(args) == 2 and args[0]["type"] == "expref":
            array = self.walk(args[1], base, ANY)
            self.consume(args[0]["children"][0], None if array is None else array + (ELEMENTS,), ANY)
            return
        spec = _ARG_KINDS.get(name)
        for i, arg in enumerate(args):
            if arg["type"] == "expref":
                continue
            if isinstance(spec, tuple):
                arg_hint = _arg_hint(spec[i], hint) if i < len(spec) and spec[i] is not None else ANY
            else:
                arg_hint = _arg_hint(spec, hint) if spec is not None else ANY
            if name == "parse_time" and i == 0 and len(args) > 1 and args[1]["type"] == "literal":
                arg_hint = Kind("formatted_time", args[1]["value"])
            if name == "lookup" and i == 1 and args[0]["type"] == "literal":
                arg_hint = Kind("lookup", args[0]["value"])
            self.consume(arg, base, arg_hint)


def _reads(source: str, hint: Kind, tables: dict) -> list[tuple[Path, Kind]]:
    walker = _KindWalker(tables)
    ast = compile_expression(source).ast
    walker.consume(ast, (), hint)
    # field_paths also sees reads the kind walker skips (e.g. inside multi-selects); keep them as ANY.
    seen = {p for p, _ in walker.reads}
    return walker.reads + [(p, ANY) for p in field_paths(ast) if p not in seen]


def param_kind(param: Param | None) -> Kind:
    """The kind a param's catalog type suggests for the value mapped into it."""
    if param is None:
        return ANY
    if param.allowed:
        return Kind("choice", tuple(param.allowed))
    if param.type == "timestamp":
        return _TIME
    if param.type in ("boolean", "yes_no"):
        return _BOOL
    if param.type == "integer":
        return _INTEGER
    if param.type == "number":
        return _NUMBER
    if param.type == "string_or_number" or (param.type == "string" and (param.primary_key or param.cls == "mandatory")):
        return Kind("id")
    return _STRING


# --- per rule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldReads:
    """Which payload paths one output field reads, and what a missing or null source may do to it."""

    paths: tuple[Path, ...]
    required: bool  # missing or null source → a rejection is the right answer
    null_rejects: bool = False  # the null policy for the field is 'reject'


@dataclass
class RuleShape:
    """Everything the kit knows statically about one rule (OOTB or bespoke)."""

    name: str
    bespoke: bool
    tree: Node | None
    discriminators: tuple[tuple[Path, Any], ...]
    fields: dict[str, FieldReads]
    each_path: Path | None = None
    fragile: tuple[Path, ...] = ()  # paths read by computed expressions (functions, ||, filters): where bugs hide

    @property
    def all_paths(self) -> tuple[Path, ...]:
        return tuple(p for f in self.fields.values() for p in f.paths)


def _to_payload(path: Path, each_path: Path | None, inner_path: Path | None = None) -> Path | None:
    """A path read in a rule's scope, in payload coordinates (inside `each`: item/root/index; two
    levels: item is the inner element, outer the outer one)."""
    if each_path is None:
        return path
    if not path:
        return None
    head = path[0]
    if head == "item":
        return (inner_path if inner_path is not None else each_path) + (ELEMENTS,) + path[1:]
    if head == "outer" and inner_path is not None:
        return each_path + (ELEMENTS,) + path[1:]
    if head == "root":
        return path[1:]
    return None  # `index`, `outer_index`, or a name the scope does not have


def _array_path(source: str) -> Path:
    ast = compile_expression(source).ast
    path = simple_path(ast)
    if path is not None:
        return path
    paths = field_paths(ast)
    for p in paths:
        if p and p[-1] == ELEMENTS:
            return p[:-1]
    return paths[0] if paths else ()


def _rule_shape(rule: Rule | BespokeRule, mapping: Mapping, catalog: Catalog) -> RuleShape:
    tables = mapping.tables
    bespoke = isinstance(rule, BespokeRule)
    event = None if isinstance(rule, BespokeRule) else catalog.events.get(rule.event)
    channels = set(mapping.channels)
    tree: Node | None = None
    fields: dict[str, FieldReads] = {}
    fragile: list[Path] = []
    each_path = _array_path(rule.each.source) if rule.each is not None else None
    inner_path = None  # a two-level `each`: where the inner arrays are, in payload coordinates
    each_inner = getattr(rule, "each_inner", None)
    if each_path is not None and each_inner is not None:
        inner_path = _to_payload(_array_path(each_inner.source), each_path)
    # named value -> the payload paths it reads (keyed by the step after `vars`: an index never matches)
    let_paths: dict[str | int, tuple[Path, ...]] = {}

    def add(label: str, source: str, hint: Kind, *, required: bool, null_rejects: bool = False, scoped: bool | str = True) -> None:
        nonlocal tree
        paths: list[Path] = []
        for path, kind in _reads(source, hint, tables):
            if path[:1] == ("vars",) and let_paths:  # a named value: what it reads is what this reads
                paths.extend(let_paths.get(path[1], ()) if len(path) > 1 else [p for ps in let_paths.values() for p in ps])
                continue
            if scoped == "outer":  # the inner `each`, read in the outer element's scope
                payload_path = _to_payload(path, each_path)
            else:
                payload_path = _to_payload(path, each_path if scoped else None, inner_path)
            if payload_path is None:
                continue
            tree = _insert(tree, payload_path, Leaf(kind))
            paths.append(payload_path)
        fields[label] = FieldReads(tuple(dict.fromkeys(paths)), required, null_rejects)
        if label != "when" and simple_path(source) is None:
            fragile.extend(p for p in paths if p not in fragile)

    discriminators: tuple[tuple[Path, Any], ...] = ()
    if rule.when is not None:
        discriminators = tuple(equality_tests(rule.when.source))
        for path, literal in discriminators:
            tree = _insert(tree, path, Leaf(Kind("choice", (literal,)), discriminator=True))
        add("when", rule.when.source, _CONDITION, required=False, scoped=False)
    if rule.each is not None and each_path is not None:  # each_path is set exactly when `each` is
        tree = _insert(tree, each_path + (ELEMENTS,), Leaf(Kind("object")))
        add("each", rule.each.source, ANY, required=True, scoped=False)
        if inner_path is not None and each_inner is not None:
            tree = _insert(tree, inner_path + (ELEMENTS,), Leaf(Kind("object")))
            add("each.inner", each_inner.source, ANY, required=True, scoped="outer")
    # Named values first, so the fields reading vars.<name> read what the value reads; a value
    # gets the most telling kind its uses ask for (odds_american(vars.dec): a decimal price).
    lets = getattr(rule, "lets", None) or {}
    hints: dict[str | int, Kind] = {}
    uses = [(_expr(spec), param_kind(event.params[key]) if event and key in event.params else ANY) for key, spec in ({} if isinstance(rule, BespokeRule) else rule.context).items()]
    uses += [(_expr(spec), ANY) for spec in lets.values()]
    for source, hint in uses if lets else ():
        for path, kind in _reads(source, hint, tables):
            if len(path) >= 2 and path[0] == "vars":
                hints[path[1]] = _merge_kind(hints[path[1]], kind) if path[1] in hints else kind
    for name, spec in lets.items():
        add(f"let.{name}", _expr(spec), hints.get(name, ANY), required=False)
        let_paths[name] = fields[f"let.{name}"].paths
    add("$.customer", _expr(rule.customer), Kind("id"), required=True)
    add("$.timestamp", _expr(rule.timestamp), _TIME, required=True)
    if isinstance(rule, BespokeRule):
        for key, spec in rule.attributes.items():
            add(f"$.attributes.{key}", _expr(spec), ANY, required=False, null_rejects=False)
    else:
        money = event is not None and any(event.params[k].monetary for k in rule.context if k in event.params)
        if rule.currency is not None:
            add("currency", rule.currency.source, Kind("currency"), required=money)
        if rule.version is not None:  # a sequence number is the commonest version
            add("version", rule.version.source, Kind("integer"), required=True)
        for key, spec in rule.context.items():
            param = event.params.get(key) if event else None
            required = param is not None and (param.cls == "mandatory" or param.primary_key or (param.cls == "channel" and bool(channels & set(param.channels))))
            nulls = spec.nulls or rule.nulls or mapping.nulls
            add(f"$.context.{key}", _expr(spec), param_kind(param), required=required, null_rejects=nulls == "reject")
        for name, options in mapping.enrichers:
            target = options.get("param")
            if name == "lookup" and isinstance(options.get("key"), str) and event and target in event.params and target not in rule.context:
                # The lookup enricher reads the whole payload, not the `each` scope.
                add(f"$.context.{options['param']}", options["key"], Kind("lookup", options.get("table")), required=False, scoped=False)
    return RuleShape(rule.name, bespoke, tree, discriminators, fields, each_path, tuple(fragile))


def _expr(spec: FieldSpec) -> str:
    return spec.expr.source


def rule_names(mapping: Mapping) -> list[str]:
    """The names of every OOTB and bespoke rule, in file order."""
    names = [r.name for r in mapping.rules]
    if mapping.bespoke is not None:
        names += [r.name for r in mapping.bespoke.rules]
    return names


_CACHE: dict[int, tuple[Mapping, dict[str, RuleShape]]] = {}


def mapping_shapes(mapping: Mapping, catalog: Catalog | None = None) -> dict[str, RuleShape]:
    """The shape of every rule of ``mapping``, by rule name (computed once per mapping object)."""
    hit = _CACHE.get(id(mapping))
    if hit is not None and hit[0] is mapping:
        return hit[1]
    catalog = catalog or load_catalog()
    rules: list[Rule | BespokeRule] = list(mapping.rules) + (list(mapping.bespoke.rules) if mapping.bespoke else [])
    shapes = {r.name: _rule_shape(r, mapping, catalog) for r in rules}
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[id(mapping)] = (mapping, shapes)
    return shapes


def compatible(a: RuleShape, b: RuleShape) -> bool:
    """Whether one payload can match both rules' ``when`` equality tests."""
    tests = dict(a.discriminators)
    return all(tests.get(path, value) == value for path, value in b.discriminators)
