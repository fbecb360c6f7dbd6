"""Lint reports every independent finding in one pass: a schema error does not hide the semantic ones.

The checks run on the parts of the file that loaded; only checks that depend on a broken part are
skipped (the rule with the schema error, or what a broken top-level key feeds).
"""

from __future__ import annotations

from pathlib import Path

from ebi_mapper.cli import main
from ebi_mapper.lint import lint_path

BASE = Path(__file__).parent / "base.yaml"


def _edit(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = BASE.read_text()
    for old, new in changes:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def _codes(path: Path) -> list[tuple[int, str]]:
    return [(f.loc.line, f.code) for f in lint_path(path).findings]


def test_schema_errors_and_every_independent_semantic_error_in_one_pass(tmp_path, capsys):
    path = _edit(
        tmp_path,
        ("nulls: drop", "nulls: dropp"),  # schema: not one of drop/keep/reject (a top-level part)
        ("    currency: data.currency\n    context:\n      ootb_transaction_id: data.tx_id\n      ootb_deposit_timestamp",
         "    currency: 5\n    context:\n      ootb_transaction_id: data.tx_id\n      ootb_deposit_timestamp"),  # schema, in rule deposit
        ("source_timezone: Europe/Malta", "source_timezone: Europe/Maltaa"),
        ("      ootb_email: data.email", "      ootb_emial: data.email"),  # registration
        ("""      ootb_status: "'Completed'\"""", """      ootb_status: "'Completed\""""),
        ("ootb_withdrawal_method: data.method", "ootb_withdrawal_method: uper(data.method)"),
        ("event: ootb_game_session", "event: ootb_game_sesion"),
    )
    found = _codes(path)
    assert found == [
        (8, "timezone"),
        (10, "schema"),
        (25, "unmapped-channel-param"),  # ootb_email (the email channel needs it) is misspelt, so unmapped
        (27, "unknown-param"),
        (49, "jmespath-syntax"),
        (87, "schema"),
        (119, "unknown-function"),
        (124, "unknown-event"),
    ], found
    # Nothing about the rule whose shape is broken beyond its schema error, and no coverage
    # warning that would depend on it.
    assert all(code != "vertical-coverage" for _, code in found)
    code = main(["lint", str(path)])
    out = capsys.readouterr()
    assert code == 1 and "8 error(s)" in out.err
    assert "did you mean 'ootb_game_session'" in out.out and "did you mean 'Europe/Malta'" in out.out


def test_checks_that_depend_on_a_broken_part_are_skipped(tmp_path):
    # tables: broken → lookup('brands', …) is not called an unknown table; plugins: broken →
    # the functions such plugins would register are not called unknown.
    path = _edit(
        tmp_path,
        ("tables:\n  brands: {a: Acme, b: Bravo}", "tables: [brands]\nplugins: 7"),
        ("ootb_withdrawal_method: data.method", "ootb_withdrawal_method: from_a_plugin(data.method)"),
        ("event: ootb_game_session", "event: ootb_game_sesion"),
    )
    found = _codes(path)
    codes = [c for _, c in found]
    assert codes.count("schema") == 2 and "unknown-event" in codes, found
    assert "unknown-table" not in codes and "unknown-function" not in codes, found


def test_a_file_lint_refuses_still_never_loads_for_use(tmp_path):
    import pytest

    from ebi_mapper import load_mapping
    from ebi_mapper.errors import MappingError
    from ebi_mapper.mapping import read_mapping

    path = _edit(tmp_path, ("nulls: drop", "nulls: dropp"))
    assert read_mapping(path).mapping is None
    with pytest.raises(MappingError):
        load_mapping(path)


def test_a_name_cut_short_suggests_the_name_it_starts(tmp_path):
    path = _edit(tmp_path, ("event: ootb_game_session", "event: ootb_product_order"))
    [finding] = [f for f in lint_path(path).findings if f.code == "unknown-event"]
    assert "did you mean 'ootb_product_order_completed'?" in finding.message
