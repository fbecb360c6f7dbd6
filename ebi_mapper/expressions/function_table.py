"""Extra functions turned into one jmespath ``Functions`` class, shared by both evaluators.

The reference evaluator hands an instance of the class to ``jmespath.Options``; the compiled
evaluator reads the same ``FUNCTION_TABLE`` (implementations and signatures), so argument
counts, type checks and function bodies are jmespath's own in both.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jmespath.functions import REVERSE_TYPES_MAP, Functions
from jmespath.visitor import _Expression as _JmespathExpression

from ..errors import PluginError
from ..extensions import FunctionDef
from .runtime import _Expression

__all__ = [
    "BUILTIN_FUNCTIONS",
    "TYPE_NAMES",
    "FunctionTable",
    "make_function_table",
    "normalize_functions",
]

BUILTIN_FUNCTIONS: frozenset[str] = frozenset(Functions.FUNCTION_TABLE)
# The type names a FunctionDef signature may use: jmespath's, plus ``any``.
TYPE_NAMES: frozenset[str] = frozenset(REVERSE_TYPES_MAP) | {"any"} | {f"array-{t}" for t in REVERSE_TYPES_MAP}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # what jmespath's lexer reads as an identifier


@dataclass(frozen=True, eq=False)
class FunctionTable:
    """The functions one expression may call: jmespath's built-ins plus the extras.

    ``instance`` is a stateless instance of the generated ``Functions`` subclass. The compiled
    evaluator calls an extra's ``fn`` directly: only jmespath's own expression references need the
    adapting that the subclass's methods do, and the compiled evaluator never makes those.
    """

    instance: Functions
    extras: Mapping[str, FunctionDef]

    @property
    def table(self) -> Mapping[str, dict]:
        """jmespath's ``FUNCTION_TABLE``: name -> ``{'function', 'signature'}``."""
        return self.instance.FUNCTION_TABLE

    @property
    def lazy(self) -> frozenset[str]:
        """The extras that receive their arguments unevaluated (special forms such as ``if``)."""
        return frozenset(name for name, fdef in self.extras.items() if fdef.lazy)

    @property
    def names(self) -> frozenset[str]:
        """Every callable name: built-ins and extras."""
        return frozenset(self.instance.FUNCTION_TABLE)


def normalize_functions(functions: Mapping[str, Callable | FunctionDef] | None) -> dict[str, FunctionDef]:
    """Check the extras and turn plain callables into :class:`FunctionDef` (all ``any`` args).

    A plain callable's arity comes from its Python signature; ``*args`` makes it variadic.
    Raises :class:`~ebi_mapper.errors.PluginError` for a bad name, a name that shadows a
    built-in, or a signature using an unknown type name.
    """
    out: dict[str, FunctionDef] = {}
    for name, value in (functions or {}).items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise PluginError(f"{name!r} is not a valid JMESPath function name")
        if name in BUILTIN_FUNCTIONS:
            raise PluginError(f"function {name}() would shadow the JMESPath built-in of that name")
        fdef = value if isinstance(value, FunctionDef) else _from_callable(name, value)
        _check_signature(name, fdef)
        out[name] = fdef
    return out


def _from_callable(name: str, fn: Callable) -> FunctionDef:
    if not callable(fn):
        raise PluginError(f"function {name}() must be a FunctionDef or a callable, not {type(fn).__name__}")
    fixed, variadic = 0, False
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # some builtins have no introspectable signature
        return FunctionDef(name, fn, (("any",),), variadic=True)
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            variadic = True
        elif param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) and param.default is param.empty:
            fixed += 1
    signature = (("any",),) * (fixed + (1 if variadic else 0))
    return FunctionDef(name, fn, signature, variadic=variadic)


def _check_signature(name: str, fdef: FunctionDef) -> None:
    if fdef.variadic and not fdef.signature:
        raise PluginError(f"function {name}(): a variadic signature needs at least one argument")
    for position, types in enumerate(fdef.signature):
        if isinstance(types, str):
            raise PluginError(f"function {name}(): argument {position + 1} must be a tuple of type names, not a string")
        unknown = [t for t in types if t not in TYPE_NAMES]
        if unknown:
            raise PluginError(f"function {name}(): unknown type name(s) {unknown} (known: {sorted(TYPE_NAMES)})")


def make_function_table(functions: Mapping[str, Callable | FunctionDef] | None = None) -> FunctionTable:
    """The table for built-ins plus ``functions`` (cached per distinct set of definitions)."""
    extras = normalize_functions(functions)
    key = tuple(sorted(extras.items(), key=lambda item: item[0]))
    try:
        return _cached_table(key)
    except TypeError:  # an unhashable definition: build without the cache
        return _build_table(key)


@lru_cache(maxsize=256)
def _cached_table(key: tuple[tuple[str, FunctionDef], ...]) -> FunctionTable:
    return _build_table(key)


def _build_table(key: tuple[tuple[str, FunctionDef], ...]) -> FunctionTable:
    attrs: dict[str, Any] = {"__doc__": "jmespath built-ins plus ebi-mapper extra functions."}
    for name, fdef in key:
        signature = _jmespath_signature(fdef)
        method = _method(fdef.fn)
        method.signature = signature  # type: ignore[attr-defined]  # what jmespath's FunctionRegistry metaclass looks for
        attrs[f"_func_{name}"] = method
    cls = type("EbiMapperFunctions", (Functions,), attrs)
    return FunctionTable(instance=cls(), extras=dict(key))


def _jmespath_signature(fdef: FunctionDef) -> tuple[dict, ...]:
    """FunctionDef types -> jmespath's ``({'types': [...]}, ..., {'types': [...], 'variadic': True})``."""
    entries: list[dict[str, Any]] = []
    for types in fdef.signature:
        # [] is jmespath's "any type"; a lazy function's arguments are thunks, checked by the function.
        names = [] if (fdef.lazy or not types or "any" in types) else list(types)
        entries.append({"types": names})
    if fdef.variadic:
        entries[-1]["variadic"] = True
    return tuple(entries)


def _method(fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self, *args):
        # jmespath hands its own _Expression to functions; extras always see ours (callable).
        return fn(*[_adapt(arg) for arg in args])

    method.__name__ = getattr(fn, "__name__", "function")
    return method


def _adapt(arg: Any) -> Any:
    if type(arg) is _JmespathExpression:
        ref = arg
        return _Expression(lambda value: ref.visit(ref.expression, value))
    return arg
