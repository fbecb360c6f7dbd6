#!/usr/bin/env python3
"""Build ``ebi_mapper/catalog/catalog.json`` from Optimove's reference and ``choices.yaml``.

Usage: tools/build_catalog.py [REFERENCE] [--check]
REFERENCE defaults to the project's copy, ``tests/catalog/reference/optimove-ootb-events.yaml``.
Also refreshes the generated tables of ``docs/catalog.md`` and the per-vertical JSON Schemas
(via ``tools/build_schemas.py``), so one run after editing ``choices.yaml`` updates everything.
With ``--check`` nothing is written; the exit code is 1 when a committed file is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from build_schemas import write_schemas  # noqa: E402
from ebi_mapper.catalog.build import build_catalog_data, reference_sha256, render_catalog_json  # noqa: E402
from ebi_mapper.catalog.docs_tables import render_tables, splice_tables  # noqa: E402

DEFAULT_REFERENCE = ROOT / "tests" / "catalog" / "reference" / "optimove-ootb-events.yaml"
CHOICES = ROOT / "ebi_mapper" / "catalog" / "choices.yaml"
CATALOG_JSON = ROOT / "ebi_mapper" / "catalog" / "catalog.json"
DOCS = ROOT / "docs" / "catalog.md"


def build(reference_path: Path) -> dict:
    """The catalog data for the reference at ``reference_path`` and the committed choices."""
    raw = reference_path.read_bytes()
    reference = yaml.safe_load(raw)
    choices = yaml.safe_load(CHOICES.read_text(encoding="utf-8"))
    return build_catalog_data(reference, choices, source_sha256=reference_sha256(raw))


def _sync(path: Path, text: str, check: bool, changed: list[str]) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        changed.append(str(path.relative_to(ROOT)))
        if not check:
            path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", nargs="?", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    if not args.reference.is_file():
        parser.error(f"reference not found: {args.reference}")
    data = build(args.reference)
    changed: list[str] = []
    _sync(CATALOG_JSON, render_catalog_json(data), args.check, changed)
    if DOCS.exists():
        _sync(DOCS, splice_tables(DOCS.read_text(encoding="utf-8"), render_tables(data)), args.check, changed)
    changed += [f"ebi_mapper/schemas/{rel}" for rel in write_schemas(data, check=args.check)]
    for rel in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {rel}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
