"""Benchmark: seconds to lint a generated mapping of 2,000 rules (issue 2: the target is under 1 s).

Run from the repository root: ``python bench/lint_bench.py [--rules N] [--repeat R] [--profile]``.
Writes the mapping to a temporary file, then times :func:`ebi_mapper.lint.lint_path` on it, best
of ``--repeat`` runs in this one process, and prints the figure. ``--profile`` prints the top
functions of one run under cProfile instead. The first run pays for imports, the catalog and the
schema validator; it is reported apart so a regression in either place is visible.

:func:`make_mapping_text` is also used by ``tests/lint/test_lint_big.py``, which lints the same
mapping and checks only that the result is right (timing lives here, not in tests).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

__all__ = ["make_mapping_text", "VERTICAL"]

VERTICAL = "multi_sport_casino"

# Params every rule of an event maps whatever else it maps: mandatory/PK ones, and the email
# channel's (the mapping declares ``channels: [email]``).
_REQUIRED_EXPRESSIONS = {
    "ootb_transaction_id": "to_string(data.tx.id)",
    "ootb_allow_email": "yes_no(data.consents.email)",
}


# Expression shapes a real mapping uses, picked in turn so the parse cache sees realistic variety.
_SHAPES = (
    "data.{field}",
    "data.{source}.{field}",
    "data.{field} || 'unknown'",
    "to_string(data.{field})",
    "lower(data.{field})",
    "coalesce(data.{field}, data.{source}.{field})",
    "{{expr: data.{field}, nulls: keep}}",
    "{{expr: data.{source}.{field}, nulls: drop}}",
)


def _expression(param: str, rule: int, slot: int) -> str:
    field = param.removeprefix("ootb_")
    return _SHAPES[(rule + slot) % len(_SHAPES)].format(field=field, source=f"src{rule % 50}")


def make_mapping_text(rules: int = 2000, *, vertical: str = VERTICAL) -> str:
    """A valid mapping of ``rules`` rules over every event of ``vertical`` (lint finds nothing).

    Each rule has ``when``, ``customer``, ``timestamp``, ``currency`` and 6-10 ``context`` fields;
    the rules cycle through the vertical's events, each mapping a rotating slice of the enrichment
    params so that together the rules of an event map all of them.
    """
    from ebi_mapper.catalog import load_catalog

    catalog = load_catalog()
    events = list(catalog.verticals[vertical].events)
    lines = [
        "ebi_mapping: 1",
        "client: bench-operator",
        f"vertical: {vertical}",
        "tenant: 1001",
        "site_currency: EUR",
        'go_live: "2026-12-01T00:00:00Z"',
        "source_timezone: Europe/Malta",
        "channels: [email]",
        "rules:",
    ]
    for i in range(rules):
        event = events[i % len(events)]
        params = catalog.events[event].params.values()
        required = [p.key for p in params if p.cls == "mandatory" or p.primary_key or "email" in p.channels]
        pool = [p.key for p in params if p.cls == "enrichment"]
        count = 6 + i % 5 - len(required)  # 6-10 context fields in all
        start = (i // len(events)) * 3 % len(pool)
        chosen = [pool[(start + k) % len(pool)] for k in range(max(count, 1))]
        lines += [
            f"  - name: rule-{i:05d}",
            f"    when: \"type == '{event.removeprefix('ootb_')}.v{i}' && data.status != 'void'\"",
            f"    event: {event}",
            "    customer: to_string(data.player.id)",
            "    timestamp: data.occurred_at",
            "    currency: data.currency || 'EUR'",
            "    context:",
        ]
        for key in required:
            lines.append(f"      {key}: {_REQUIRED_EXPRESSIONS.get(key, 'data.' + key.removeprefix('ootb_'))}")
        for slot, param in enumerate(chosen):
            lines.append(f"      {param}: {_expression(param, i, slot)}")
    return "\n".join(lines) + "\n"


def _forget_expressions() -> None:
    """Empty the per-text caches, so every run parses every expression as a fresh process would.

    Imports, the catalog and the compiled schema validator stay loaded: they are paid once per
    process whatever the mapping, and the first run's time shows them.
    """
    from ebi_mapper.expressions import parsing
    from ebi_mapper.lint import checks
    from ebi_mapper.mapping import yaml_source

    checks._analyse.cache_clear()
    parsing._parse_cached.cache_clear()
    yaml_source._Loader._resolved.clear()


def main(argv: list[str] | None = None) -> int:
    """Generate, lint ``--repeat`` times, print the best time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run instead")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    from ebi_mapper.lint import lint_path

    import_s = time.perf_counter() - t0
    text = make_mapping_text(args.rules)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(text, encoding="utf-8")
        if args.profile:
            import cProfile

            lint_path(path)  # imports and one-time loading out of the picture
            _forget_expressions()
            import pstats  # noqa: I001

            profiler = cProfile.Profile()
            profiler.runcall(lint_path, path)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            return 0
        times = []
        for _ in range(args.repeat):
            _forget_expressions()
            start = time.perf_counter()
            report = lint_path(path)
            times.append(time.perf_counter() - start)
    size = len(text.encode())
    print(f"lint of {args.rules:,} rules ({size / 1024:.0f} KiB, {text.count(chr(10)):,} lines): "
          f"best {min(times):.3f} s of {args.repeat} (first {times[0]:.3f} s, import {import_s:.3f} s); "
          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if report.findings:
        for finding in report.findings[:10]:
            print(f"  {finding}")
    return 0 if min(times) < 1.0 and not report.errors else 1


if __name__ == "__main__":
    sys.exit(main())
