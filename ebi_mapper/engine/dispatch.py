"""Route a payload to the rules that can match it without evaluating every `when`.

Most mappings discriminate on one field (``type == 'wallet.deposit'``, ``topic == 'orders/create'``).
When several rules' ``when`` clauses test the same path for equality with a string literal, a dict
lookup on that path's value picks the candidates; each candidate's full ``when`` still decides.
Rules without such a test are candidates for every payload. Rule order is kept, because a payload
may match several rules and their outputs come out in file order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from ..expressions import equality_tests, parse_expression

__all__ = ["Dispatcher", "decides_when", "make_dispatcher"]


class Dispatcher(Protocol):
    """``candidates(payload) -> rules`` in file order, with the parts it was built from.

    A plain function carrying attributes (a call on the hot path costs no bound-method lookup).
    """

    path: tuple[str, ...]  # the discriminating path (for explain and tests)
    get: Callable[[Any], Any]  # the value at ``path`` in a payload, or None
    table: dict[str, list[Any]]  # discriminator value -> the candidate rules
    default: list[Any]  # the rules for a value in no table (rules testing no literal there)

    def __call__(self, payload: Any) -> Sequence[Any]: ...


def _string_tests(source: str) -> dict[tuple[str, ...], str]:
    out: dict[tuple[str, ...], str] = {}
    for path, literal in equality_tests(source):
        # Only strings: jmespath's == treats True and 1 as different while a dict lookup would not.
        if isinstance(literal, str) and path and all(isinstance(p, str) for p in path):
            out[cast(tuple[str, ...], tuple(path))] = literal  # all steps are keys (checked above)
    return out


def _getter(path: tuple[str, ...]) -> Callable[[Any], Any]:
    def get(data: Any) -> Any:
        for key in path:
            if type(data) is not dict:
                return None
            data = data.get(key)
        return data

    return get


def make_dispatcher(rules: Sequence[Any]) -> Dispatcher | None:
    """Return ``candidates(payload) -> rules`` or ``None`` when no discriminator is worth it."""
    tests = [(_string_tests(r.rule.when.source) if r.rule.when is not None else {}) for r in rules]
    counts = Counter(path for t in tests for path in t)
    if not counts:
        return None
    path, hits = counts.most_common(1)[0]
    if hits < 2:
        return None
    always = [i for i, t in enumerate(tests) if path not in t]
    by_value: dict[str, list[int]] = {}
    for i, t in enumerate(tests):
        if path in t:
            by_value.setdefault(t[path], []).append(i)
    table = {value: [rules[i] for i in sorted(idx + always)] for value, idx in by_value.items()}
    default = [rules[i] for i in always]
    get = _getter(path)

    def candidates(payload: Any) -> Sequence[Any]:
        value = get(payload)
        if type(value) is str:
            return table.get(value, default)
        return default

    dispatcher = cast(Dispatcher, candidates)
    dispatcher.path = path
    # The parts, for the generated fast path (Mapper builds its own tables of runners from them).
    dispatcher.get = get
    dispatcher.table = table
    dispatcher.default = default
    return dispatcher


def decides_when(source: str, path: tuple) -> str | None:
    """The literal ``L`` when the whole ``when`` is ``path == 'L'`` (either order), else None.

    A rule reached through the dispatcher's entry for ``L`` then needs no evaluation of its
    ``when``: the lookup already saw a string equal to ``L`` at that path, so it is true.
    """
    node = parse_expression(source)
    if node["type"] != "comparator" or node["value"] != "eq":
        return None
    tests = _string_tests(source)
    literal = tests.get(tuple(path))
    return literal if len(tests) == 1 else None
