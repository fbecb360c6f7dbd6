"""Micro-benchmark: ns per evaluation of typical mapping expressions, jmespath versus compiled.

Run from the repository root: ``python bench/expressions_bench.py [--number N]``. Prints, for each
expression, (a) ``jmespath.compile(expr).search``, (b) ebi-mapper's compiled evaluator, the ratio
a/b, and (c) nested closures (the design not taken, for the subset it covers) so the choice of
generated code can be re-checked on any machine. All in one process, best of 5 repeats.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import jmespath

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ebi_mapper.expressions import compile_expression  # noqa: E402

EVENT = {
    "event_type": "deposit",
    "status": "completed",
    "root": {"id": 123456},
    "data": {
        "player": {"id": "p-42", "email": "a@example.com", "country": "MT"},
        "amount": 25.5,
        "currency": "EUR",
        "items": [
            {"kind": "bonus", "amount": 5},
            {"kind": "cash", "amount": 20.5},
            {"kind": "bonus", "amount": 1},
        ],
    },
}

CASES = [
    ("dotted path (3)", "data.player.id"),
    ("dotted path (2)", "data.currency"),
    ("missing path", "data.player.phone.number"),
    ("default (present)", "data.currency || 'EUR'"),
    ("default (missing)", "data.bonus_code || 'none'"),
    ("to_string", "to_string(root.id)"),
    ("filter", "data.items[?kind == 'bonus'].amount"),
    ("conjunction", "event_type == 'deposit' && status == 'completed'"),
    ("comparison", "data.amount > `10`"),
    ("multiselect", "{id: data.player.id, cur: data.currency}"),
]


def _closure(node):
    """Nested-closure compiler for a subset of the AST (the alternative measured against codegen)."""
    kind = node["type"]
    if kind == "field":
        key = node["value"]

        def field(value):
            return value.get(key) if type(value) is dict else None

        return field
    if kind == "subexpression":
        steps = [_closure(child) for child in node["children"]]
        if len(steps) == 2:
            first, second = steps
            return lambda value: second(first(value))
        if len(steps) == 3:
            first, second, third = steps
            return lambda value: third(second(first(value)))

        def chain(value):
            for step in steps:
                value = step(value)
            return value

        return chain
    if kind == "literal":
        constant = node["value"]
        return lambda value: constant
    if kind == "or_expression":
        left, right = (_closure(child) for child in node["children"])

        def either(value):
            result = left(value)
            return right(value) if result in ("", None, False) or result == [] or result == {} else result

        return either
    if kind == "and_expression":
        left, right = (_closure(child) for child in node["children"])

        def both(value):
            result = left(value)
            return result if result in ("", None, False) or result == [] or result == {} else right(value)

        return both
    if kind == "comparator" and node["value"] == "eq":
        left, right = (_closure(child) for child in node["children"])
        return lambda value: left(value) == right(value)
    return None


def _best_ns(fn, data, number: int) -> float:
    timer = timeit.Timer(lambda: fn(data))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="evaluations per repeat")
    args = parser.parse_args(argv)

    # Subtract the cost of the timing loop itself (a call of a no-op lambda) from every figure.
    overhead = _best_ns(lambda data: None, EVENT, args.number)
    print(f"{'expression':<52} {'jmespath':>10} {'compiled':>10} {'ratio':>7} {'closures':>10}")
    for label, source in CASES:
        reference = jmespath.compile(source).search
        compiled = compile_expression(source)
        assert compiled.search(EVENT) == reference(EVENT), source
        closure = _closure(compiled.ast)
        a = _best_ns(reference, EVENT, args.number) - overhead
        b = _best_ns(compiled.search, EVENT, args.number) - overhead
        c = f"{_best_ns(closure, EVENT, args.number) - overhead:>8.0f}ns" if closure else f"{'-':>10}"
        print(f"{label + ': ' + source:<52} {a:>8.0f}ns {b:>8.0f}ns {a / b:>6.1f}x {c}")
    print(f"(timing-loop overhead of {overhead:.0f}ns per call subtracted from every figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
