#!/usr/bin/env python3
"""Write ``ebi_mapper/schemas/events/<vertical>/<event>.json`` from ``ebi_mapper/catalog/catalog.json``.

Usage: tools/build_schemas.py [--check]
With ``--check`` nothing is written; the exit code is 1 when a committed schema is out of date.
``tools/build_catalog.py`` runs this after rebuilding the catalog.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ebi_mapper.catalog import make_catalog  # noqa: E402
from ebi_mapper.schemas.generate import schema_files  # noqa: E402

CATALOG_JSON = ROOT / "ebi_mapper" / "catalog" / "catalog.json"
SCHEMA_DIR = ROOT / "ebi_mapper" / "schemas"


def write_schemas(catalog_data: dict, *, check: bool = False) -> list[str]:
    """Bring the schema files in line with ``catalog_data``; return the paths that changed."""
    wanted = schema_files(make_catalog(catalog_data))
    changed = []
    for rel, text in wanted.items():
        path = SCHEMA_DIR / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(rel)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for path in sorted((SCHEMA_DIR / "events").glob("*/*.json")):
        rel = path.relative_to(SCHEMA_DIR).as_posix()
        if rel not in wanted:  # a vertical × event that left the matrix
            changed.append(rel)
            if not check:
                path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    changed = write_schemas(json.loads(CATALOG_JSON.read_text(encoding="utf-8")), check=args.check)
    for rel in changed:
        print(f"{'out of date' if args.check else 'wrote'}: ebi_mapper/schemas/{rel}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
