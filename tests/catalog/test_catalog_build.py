"""The builder: committed catalog.json, schemas and docs tables are exactly what it produces; it refuses to guess."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from catalog_helpers import REFERENCE, ROOT, SHARED_REFERENCE
from ebi_mapper.catalog import load_catalog, make_catalog
from ebi_mapper.catalog.build import CatalogBuildError, build_catalog_data, reference_sha256, render_catalog_json
from ebi_mapper.catalog.docs_tables import TABLE_NAMES, render_tables, splice_tables
from ebi_mapper.errors import EbiMapperError
from ebi_mapper.schemas.generate import schema_files

CATALOG_JSON = ROOT / "ebi_mapper" / "catalog" / "catalog.json"
CHOICES = ROOT / "ebi_mapper" / "catalog" / "choices.yaml"
SCHEMA_DIR = ROOT / "ebi_mapper" / "schemas"
DOCS = ROOT / "docs" / "catalog.md"


@pytest.fixture(scope="module")
def choices() -> dict:
    return yaml.safe_load(CHOICES.read_text(encoding="utf-8"))


def _build(reference: dict, choices: dict) -> dict:
    return build_catalog_data(reference, choices, source_sha256=reference_sha256(REFERENCE.read_bytes()))


@pytest.mark.skipif(not SHARED_REFERENCE.is_file(), reason=f"no master copy at {SHARED_REFERENCE}")
def test_reference_copy_matches_shared():
    assert REFERENCE.read_bytes() == SHARED_REFERENCE.read_bytes(), "refresh tests/catalog/reference from shared/"


def test_rebuilding_gives_the_committed_catalog(reference, choices):
    assert render_catalog_json(_build(reference, choices)) == CATALOG_JSON.read_text(encoding="utf-8"), (
        "catalog.json is out of date: run .venv/bin/python tools/build_catalog.py"
    )


def test_committed_schemas_are_what_the_catalog_generates():
    wanted = schema_files(load_catalog())
    on_disk = {p.relative_to(SCHEMA_DIR).as_posix() for p in (SCHEMA_DIR / "events").glob("*/*.json")}
    assert on_disk == set(wanted), "stale or missing schema files: run tools/build_schemas.py"
    for rel, text in wanted.items():
        assert (SCHEMA_DIR / rel).read_text(encoding="utf-8") == text, f"{rel} is out of date: run tools/build_schemas.py"


def test_docs_tables_are_in_sync():
    data = json.loads(CATALOG_JSON.read_text(encoding="utf-8"))
    text = DOCS.read_text(encoding="utf-8")
    assert splice_tables(text, render_tables(data)) == text, "docs/catalog.md tables are out of date: run tools/build_catalog.py"
    for name in TABLE_NAMES:
        assert f"<!-- generated:{name} -->" in text


def test_docs_list_every_choice():
    data = json.loads(CATALOG_JSON.read_text(encoding="utf-8"))
    text = DOCS.read_text(encoding="utf-8")
    for name in data["choices"]:
        assert f"`{name}`" in text, name


def test_catalog_names_its_source(reference):
    data = json.loads(CATALOG_JSON.read_text(encoding="utf-8"))
    assert data["source"]["reference_sha256"] == reference_sha256(REFERENCE.read_bytes())


def test_every_ambiguity_of_the_reference_is_settled_by_a_choice(reference):
    catalog = load_catalog()
    settled = {n for entry in catalog.choices.values() for n in entry.get("addresses", [])}
    assert settled == set(range(1, len(reference["ambiguities"]) + 1))


def test_built_catalog_loads(reference, choices):
    catalog = make_catalog(_build(reference, choices))
    assert len(catalog.events) == 10


def test_unknown_ebi_class_choice_is_applied_in_one_edit(reference, choices):
    edited = copy.deepcopy(choices)
    edited["choices"]["unknown_ebi_class"]["value"] = "optional"
    catalog = make_catalog(_build(reference, edited))
    assert catalog.events["ootb_deposit"].params["ootb_deposit_amount"].cls == "optional"
    assert catalog.events["ootb_deposit"].params["ootb_transaction_id"].cls == "mandatory"


def test_sweepstakes_transactions_choice_is_applied(reference, choices):
    edited = copy.deepcopy(choices)
    edited["choices"]["sweepstakes_transactions"]["value"] = []
    catalog = make_catalog(_build(reference, edited))
    assert catalog.verticals["sweepstakes"].events == (
        "ootb_registration",
        "ootb_user_details_update",
        "ootb_sweepstakes_game_session",
    )


def _edit(choices: dict, fn) -> dict:
    edited = copy.deepcopy(choices)
    fn(edited)
    return edited


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: c["param_overrides"].pop("ootb_registration.ootb_is_*"), "Boolean in the reference"),
        (lambda c: c["param_overrides"].update({"ootb_deposit.ootb_nope": {"value": {"type": "string"}, "reason": "x"}}), "matches no param"),
        (lambda c: c["choices"]["unknown_ebi_class"].update(reason=""), "non-empty 'reason'"),
        (lambda c: c["choices"]["unknown_ebi_class"].update(value="sometimes"), "not supported"),
        (lambda c: c["choices"].pop("type_map"), "no choice 'type_map'"),
        (lambda c: c["choices"]["integer_params"]["value"].append("ootb_no_such_count"), "unknown param"),
        (lambda c: c["choices"]["channel_params"]["value"].update(fax=["ootb_fax_number"]), r"channel_params\[fax\]"),
        (lambda c: c["choices"]["channel_params"]["value"].update(push=[]), "ootb_allow_push"),
        (lambda c: c["param_overrides"]["ootb_sports_bet_*.ootb_is_live"]["value"].pop("allowed"), "decide 'allowed'"),
        (lambda c: c["param_overrides"].update({"*.ootb_brand": {"value": {"colour": "red"}, "reason": "x"}}), "unknown field"),
        (lambda c: c["choices"]["rate_classes"]["value"]["profile"].update(events=[]), "exactly one rate class"),
    ],
    ids=[
        "boolean-undecided",
        "override-matches-nothing",
        "choice-without-reason",
        "unsupported-value",
        "missing-choice",
        "integer-param-typo",
        "channel-param-typo",
        "channel-param-without-channel",
        "partly-inferred-values",
        "override-unknown-field",
        "two-default-rate-classes",
    ],
)
def test_builder_refuses_to_guess(reference, choices, edit, message):
    with pytest.raises(CatalogBuildError, match=message) as info:
        build_catalog_data(reference, _edit(choices, edit))
    assert isinstance(info.value, EbiMapperError) and isinstance(info.value, ValueError)


def test_builder_checks_param_counts(reference, choices):
    broken = copy.deepcopy(reference)
    broken["events"]["ootb_deposit"]["parameters"].pop()
    with pytest.raises(CatalogBuildError, match="11 params but the reference says 12"):
        build_catalog_data(broken, choices)


def test_tools_check_mode_reports_up_to_date(reference):
    import subprocess
    import sys

    for tool in ("tools/build_catalog.py", "tools/build_schemas.py"):
        result = subprocess.run([sys.executable, tool, "--check"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_splice_requires_markers():
    with pytest.raises(ValueError, match="generated:events"):
        splice_tables("no markers here", {"events": "| x |\n"})
