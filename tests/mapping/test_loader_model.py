"""From a located document to the model: field forms, go_live, sibling tests, ``load_mapping``."""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper import load_mapping
from ebi_mapper.errors import EbiMapperError, MappingError
from ebi_mapper.lint.findings import Finding
from ebi_mapper.mapping import Mapping, read_mapping
from ebi_mapper.mapping.loader import literal_expression, parse_utc_timestamp

BASE = Path(__file__).parents[1] / "lint" / "base.yaml"
BROKEN = Path(__file__).parents[1] / "lint" / "broken"

MINIMAL = textwrap.dedent(
    """\
    ebi_mapping: 1
    client: tiny
    vertical: casino
    tenant: 5
    site_currency: EUR
    rules:
      - name: deposit
        event: ootb_deposit
        customer: data.player_id
        timestamp: data.at
        currency: data.currency
        context:
          ootb_transaction_id: data.tx
          ootb_deposit_timestamp: data.at
          ootb_deposit_status: {value: completed}
          ootb_deposit_amount: {expr: data.amount, nulls: reject}
          ootb_deposit_method: {expr: data.method, default: card}
          ootb_brand: {expr: data.brand, nulls: keep, default: null}
    """
)


def read(text: str, name: str = "m.yaml"):
    return read_mapping(name, text=text)


# ---- the model and its locations ----------------------------------------------------------------


def test_the_base_mapping_becomes_a_located_model():
    result = read_mapping(BASE)
    assert result.ok and result.findings == []
    mapping = result.mapping
    assert isinstance(mapping, Mapping)
    assert (mapping.client, mapping.vertical, mapping.tenant, mapping.site_currency) == ("acme-casino", "casino", 567, "EUR")
    assert [r.name for r in mapping.rules] == ["registration", "user-details", "deposit", "withdrawal", "game-session"]
    deposit = mapping.rules[2]
    assert (deposit.loc.line, deposit.loc.col) == (82, 5)  # the rule's first key
    assert (deposit.event_loc.line, deposit.event_loc.col) == (84, 12)
    # a double-quoted expression is located at its first character, after the quote
    assert (deposit.when.loc.line, deposit.when.loc.col) == (83, 12)
    assert deposit.when.source == "type == 'wallet.deposit' && data.status == 'approved'"
    assert (deposit.context_locs["ootb_deposit_amount"].line, deposit.context_locs["ootb_deposit_amount"].col) == (94, 7)
    assert (deposit.context["ootb_deposit_amount"].expr.loc.line, deposit.context["ootb_deposit_amount"].expr.loc.col) == (94, 28)
    assert mapping.locs["vertical"].line == 4
    assert mapping.channels == ("email",) and mapping.source_timezone == "Europe/Malta"
    assert mapping.enrichers == (("lookup", {"table": "brands", "key": "data.brand", "param": "ootb_brand"}),)
    assert mapping.future_skew_seconds == 600
    assert mapping.bespoke.route == "data_studio" and mapping.bespoke.rules[0].name == "vip-tier"
    assert mapping.raw["tenant"] == 567


def test_field_forms():
    mapping = read(MINIMAL).mapping
    context = mapping.rules[0].context
    plain = context["ootb_transaction_id"]
    assert (plain.expr.source, plain.nulls, plain.has_default) == ("data.tx", None, False)
    constant = context["ootb_deposit_status"]
    assert jmespath.search(constant.expr.source, {"anything": 1}) == "completed"
    assert constant.nulls is None and not constant.has_default
    reject = context["ootb_deposit_amount"]
    assert (reject.expr.source, reject.nulls, reject.has_default) == ("data.amount", "reject", False)
    defaulted = context["ootb_deposit_method"]
    assert (defaulted.expr.source, defaulted.default, defaulted.has_default) == ("data.method", "card", True)
    null_default = context["ootb_brand"]
    assert (null_default.nulls, null_default.default, null_default.has_default) == ("keep", None, True)
    # the FieldSpec is located at the field's value, its Expr at the expression text inside it
    assert null_default.loc.line == null_default.expr.loc.line == 18
    assert null_default.expr.loc.col == null_default.loc.col + len("{expr: ")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_value_form_is_a_jmespath_literal_of_exactly_that_value(value):
    got = jmespath.search(literal_expression(value), {})
    assert got == value or (isinstance(value, float) and math.isclose(got, value))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{expr: data.x, nulls: sometimes}", "expected an expression string"),
        ("{expr: data.x, value: 1}", "expected an expression string"),
        ("{nulls: keep}", "expected an expression string"),
        ("''", "expected an expression string"),
    ],
    ids=["bad-nulls", "expr-and-value", "no-expr", "empty-string"],
)
def test_malformed_field_forms_are_schema_findings_at_the_field(bad, message):
    text = MINIMAL.replace("ootb_transaction_id: data.tx", f"ootb_transaction_id: {bad}")
    result = read(text)
    assert [(f.loc.line, f.loc.col, f.code) for f in result.findings] == [(13, 28, "schema")]
    assert message in result.findings[0].message and "rules[0].context.ootb_transaction_id" in result.findings[0].message
    assert result.mapping is None


# ---- go_live ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ['"2026-12-01T00:00:00Z"', "2026-12-01T00:00:00Z", '"2026-12-01T00:00:00+00:00"', '"2026-12-01T00:00:00.000000Z"', "2026-12-01 00:00:00Z"],
    ids=["quoted-z", "unquoted-z", "plus-zero", "fraction", "space"],
)
def test_go_live_in_utc_is_read(written):
    mapping = read(MINIMAL.replace("rules:\n", f"go_live: {written}\nrules:\n", 1)).mapping
    assert mapping.go_live == datetime(2026, 12, 1, tzinfo=UTC)
    assert mapping.go_live.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "written",
    ['"2026-12-01T00:00:00+01:00"', "2026-12-01 00:00:00", "2026-12-01", '"next monday"', '"2026-13-01T00:00:00Z"'],
    ids=["offset", "naive", "date-only", "words", "month-13"],
)
def test_go_live_not_in_utc_is_a_finding_at_its_value(written):
    result = read(MINIMAL.replace("rules:\n", f"go_live: {written}\nrules:\n", 1))
    assert [(f.loc.line, f.loc.col, f.code) for f in result.findings] == [(6, 10, "go-live")]
    assert "not a UTC timestamp" in result.findings[0].message


def test_parse_utc_timestamp():
    assert parse_utc_timestamp("2026-01-02T03:04:05.5Z") == datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert parse_utc_timestamp("2026-01-02T03:04:05-00:00") is not None
    assert parse_utc_timestamp("2026-01-02T03:04:05+05:30") is None
    assert parse_utc_timestamp("2026-01-02T03:04:05") is None


# ---- sibling tests file ---------------------------------------------------------------------


def _write_mapping(tmp_path: Path, with_inline_test: bool = True) -> Path:
    text = MINIMAL
    if with_inline_test:
        text += "tests:\n  - name: inline\n    payload: {a: 1}\n    expect: {filtered: [no_rule]}\n"
    path = tmp_path / "client.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sibling_tests_file_is_merged_after_inline_tests(tmp_path):
    path = _write_mapping(tmp_path)
    (tmp_path / "client.tests.yaml").write_text(
        "- name: from sibling\n  payload: {b: 2}\n  now: '2026-12-01T00:00:00Z'\n  expect:\n    rejections: [{code: missing_mandatory}]\n",
        encoding="utf-8",
    )
    result = read_mapping(path)
    assert result.ok, result.findings
    tests = result.mapping.tests
    assert [t.name for t in tests] == ["inline", "from sibling"]
    assert tests[1].payload == {"b": 2} and tests[1].now == "2026-12-01T00:00:00Z"
    assert tests[1].expect == {"rejections": [{"code": "missing_mandatory"}]}
    assert tests[1].loc.file == str(tmp_path / "client.tests.yaml") and tests[1].loc.line == 1


def test_sibling_tests_file_may_hold_a_tests_key(tmp_path):
    path = _write_mapping(tmp_path, with_inline_test=False)
    (tmp_path / "client.tests.yaml").write_text("tests:\n  - name: a\n    payload: 1\n    expect: {}\n", encoding="utf-8")
    tests = read_mapping(path).mapping.tests
    assert [(t.name, t.loc.line) for t in tests] == [("a", 2)]


def test_a_broken_sibling_tests_file_is_reported_in_that_file(tmp_path):
    path = _write_mapping(tmp_path)
    sibling = tmp_path / "client.tests.yaml"
    sibling.write_text("- name: a\n  payload: 1\n  expect: {event: []}\n", encoding="utf-8")
    result = read_mapping(path)
    assert [(f.loc.file, f.loc.line, f.code) for f in result.findings] == [(str(sibling), 3, "schema")]
    assert not result.ok


def test_a_sibling_with_bad_yaml_is_reported_in_that_file(tmp_path):
    path = _write_mapping(tmp_path)
    sibling = tmp_path / "client.tests.yaml"
    sibling.write_text("- name: a\n  name: b\n", encoding="utf-8")
    result = read_mapping(path)
    assert [(f.loc.file, f.loc.line, f.code) for f in result.findings] == [(str(sibling), 2, "duplicate-key")]


def test_without_a_sibling_only_inline_tests(tmp_path):
    path = _write_mapping(tmp_path)
    assert [t.name for t in read_mapping(path).mapping.tests] == ["inline"]


# ---- load_mapping ---------------------------------------------------------------------------


def test_load_mapping_returns_the_model_of_a_clean_file():
    mapping = load_mapping(BASE)
    assert isinstance(mapping, Mapping) and len(mapping.rules) == 5


@pytest.mark.parametrize(
    ("name", "code"),
    [("yaml_syntax", "yaml-syntax"), ("unknown_key", "unknown-key"), ("unknown_function", "unknown-function"), ("unmapped_pk", "unmapped-mandatory")],
)
def test_load_mapping_raises_mapping_error_carrying_the_findings(name, code):
    with pytest.raises(MappingError) as info:
        load_mapping(BROKEN / f"{name}.yaml")
    exc = info.value
    assert isinstance(exc, ValueError) and isinstance(exc, EbiMapperError)
    assert [f.code for f in exc.findings] == [code]
    assert all(isinstance(f, Finding) and f.severity == "error" for f in exc.findings)
    assert f"{name}.yaml" in str(exc) and "1 error(s)" in str(exc)


def test_load_mapping_ignores_warnings():
    mapping = load_mapping(BROKEN / "enrichment_coverage.yaml")
    assert mapping.rules[2].event == "ootb_deposit"


def test_load_mapping_without_lint_skips_the_semantic_checks():
    mapping = load_mapping(BROKEN / "unknown_function.yaml", lint=False)
    assert mapping.rules[3].customer.expr.source == "to_str(data.player_id)"
    with pytest.raises(MappingError):
        load_mapping(BROKEN / "unknown_key.yaml", lint=False)  # format errors still refuse


def test_load_mapping_of_a_missing_file_is_a_mapping_error(tmp_path):
    with pytest.raises(MappingError) as info:
        load_mapping(tmp_path / "absent.yaml")
    assert [f.code for f in info.value.findings] == ["io"]


def test_a_top_level_list_is_a_schema_finding():
    result = read("- a\n- b\n")
    assert [(f.loc.line, f.code) for f in result.findings] == [(1, "schema")]
    assert result.mapping is None
