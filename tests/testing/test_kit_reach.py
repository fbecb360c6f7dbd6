"""The kit must not say ok when it tested nothing, nor fail correct mappings (issue #11, items 6-9).

Per-rule coverage: a rule no generated payload (and no tests: case) reaches fails, naming the rule;
the common condition forms are read as what makes them true, so their rules are reached. Values
follow every use of a path: through wrapping functions (`upper(currency)`), combined across uses
(an id compared with a number is a whole number), and function arguments by kind (IANA zones).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ebi_mapper.cli import main
from ebi_mapper.testing import generated_payloads, run_generated

from .kit_helpers import GOOD, first, mapper_of, write_mapping

DEPOSIT = """
rules:
  - name: deposit
    when: "{when}"
    event: ootb_deposit
    customer: data.player_id
    timestamp: data.processed_at
    currency: data.currency
    context:
      ootb_transaction_id: data.tx_id
      ootb_deposit_timestamp: data.processed_at
      ootb_deposit_amount: data.amount
"""


def _deposit(tmp_path, when: str):
    return write_mapping(tmp_path, DEPOSIT.replace("{when}", when))


# --- item 6: coverage ------------------------------------------------------------------------

UNREACHABLE = "length(code || '') == `40`"  # a form the kit does not solve (its texts are shorter)


def test_a_rule_no_payload_reaches_fails_and_is_named(tmp_path):
    report = run_generated(mapper_of(_deposit(tmp_path, UNREACHABLE)), examples=10, seed=0)
    assert report.failures == 1
    rule = report.rules[0]
    assert (rule.rule, rule.reached, rule.failure) == ("deposit", 0, None)
    assert "rule 'deposit' was never reached" in rule.error and UNREACHABLE in rule.error
    text = report.render()
    assert "FAIL deposit" in text and "reached the rule: 0 (0 valid)" in text and "1 rule(s) failed" in text


def test_the_cli_exits_1_for_an_unreached_rule_and_reports_coverage_as_json(tmp_path, capsys):
    path = _deposit(tmp_path, UNREACHABLE)
    assert main(["test", str(path), "--generate", "5", "--seed", "0"]) == 1
    assert "was never reached" in capsys.readouterr().out
    assert main(["test", str(path), "--generate", "5", "--seed", "0", "--format", "json"]) == 1
    rule = json.loads(capsys.readouterr().out)["results"][0]["generated"]["rules"][0]
    assert (rule["rule"], rule["reached"], rule["reached_valid"], rule["passed"]) == ("deposit", 0, 0, False)


def test_coverage_is_reported_for_a_reached_rule(tmp_path):
    report = run_generated(mapper_of(GOOD / "wallet.yaml"), examples=10, seed=0)
    for rule in report.rules[1:]:  # after the tests: pseudo-rule
        assert 0 < rule.reached_valid <= rule.valid and rule.reached_valid <= rule.reached <= rule.examples
        assert f"reached the rule: {rule.reached} ({rule.reached_valid} valid)" in report.render()
        assert rule.to_dict()["reached"] == rule.reached


def test_a_rule_only_the_tests_cases_reach_passes_and_says_so(tmp_path):
    body = DEPOSIT.replace("{when}", UNREACHABLE) + """
tests:
  - name: a 40-character code
    payload: {code: abcdefghijklmnopqrstuvwxyzabcdefghijklmn, data: {player_id: p1, processed_at: "2026-12-10T10:00:00Z", currency: EUR, tx_id: t1, amount: 5}}
    expect:
      events:
        - event: ootb_deposit
          customer: p1
          tenant: 567
          timestamp: "2026-12-10 10:00:00.000000 UTC"
          context: {ootb_transaction_id: t1, ootb_deposit_timestamp: "2026-12-10T10:00:00.000000Z", ootb_deposit_amount: 5}
"""
    report = run_generated(mapper_of(write_mapping(tmp_path, body)), examples=5, seed=0)
    assert report.failures == 0, report.render()
    assert report.rules[-1].reached_by_cases == 1
    assert "only the tests: cases reach it (1)" in report.render()


def test_a_condition_that_can_never_hold_is_reported(tmp_path):
    # JMESPath reads `!data.test` as `(!data).test`, which is always null: the rule can never match.
    report = run_generated(mapper_of(_deposit(tmp_path, "type == 'wallet.deposit' && !data.test")), examples=10, seed=0)
    assert report.failures == 1 and "was never reached" in report.rules[0].error


CONDITIONS = [
    pytest.param("contains(['wallet.deposit','wallet.topup'], type)", id="contains-literal-list"),
    pytest.param("contains(`[\\\"wallet.deposit\\\"]`, type)", id="contains-json-list"),
    pytest.param("type == 'wallet.deposit' || type == 'wallet.topup'", id="or-of-equalities"),
    pytest.param("type == 'wallet.deposit' && (data.state == 'ok' || data.state == 'done')", id="and-with-or"),
    pytest.param("type == 'wallet.deposit' && !(data.test)", id="not-a-flag"),
    pytest.param("!(type != 'wallet.deposit')", id="not-of-not-equal"),
    pytest.param("type != 'wallet.withdrawal' && data.amount > `0`", id="not-equal-and-greater"),
    pytest.param("data.amount >= `100` && data.amount < `1000`", id="number-range"),
    pytest.param("`10` < data.amount", id="literal-on-the-left"),
    pytest.param("!(data.amount <= `5`)", id="negated-comparison"),
    pytest.param("starts_with(type, 'wallet.dep')", id="starts-with"),
    pytest.param("ends_with(type, '.deposit')", id="ends-with"),
    pytest.param("meta.source.flags.live", id="existence-nested"),
    pytest.param("contains(tags, 'vip')", id="contains-in-list"),
    pytest.param("data.kind == `3`", id="number-equality"),
]


@pytest.mark.parametrize("when", CONDITIONS)
def test_common_condition_forms_reach_their_rule(tmp_path, when):
    report = run_generated(mapper_of(_deposit(tmp_path, when)), examples=10, seed=0, validity=1.0)
    assert report.failures == 0, report.render()
    rule = report.rules[0]
    assert rule.reached_valid >= rule.valid // 2, report.render()  # most valid payloads reach it, not one by luck


# --- item 7: uses through wrapping functions -------------------------------------------------


def test_a_wrapped_currency_gets_currency_codes_and_the_stripe_mapping_passes():
    report = run_generated(mapper_of(GOOD / "stripe.yaml"), examples=30, seed=0)
    assert report.failures == 0, report.render()
    strategy = generated_payloads(GOOD / "stripe.yaml", "charge", validity=1.0)
    currencies = set()
    first(strategy.map(lambda g: g.payload), lambda p: currencies.add(p["data"]["object"]["currency"]) or len(currencies) >= 2)
    assert {c.upper() for c in currencies} == {"EUR"}


@pytest.mark.parametrize(
    "expression, param, check",
    [
        pytest.param("lower(data.v)", "ootb_deposit_method", lambda v: isinstance(v, str), id="lower-of-text"),
        pytest.param("data.v && to_string(data.v)", "ootb_deposit_amount", lambda v: float(v) >= 0, id="to_string-of-amount"),
        pytest.param("round(data.v, `2`)", "ootb_deposit_amount", lambda v: float(v) >= 0, id="round-of-amount"),
        pytest.param("coalesce(data.v, data.w)", "ootb_deposit_amount", lambda v: float(v) >= 0, id="coalesce-of-amount"),
        pytest.param("trim(data.v) || 'x'", "ootb_deposit_method", lambda v: isinstance(v, str), id="or-default"),
    ],
)
def test_wrapping_functions_pass_their_use_on(tmp_path, expression, param, check):
    body = DEPOSIT.replace("{when}", "type == 'd'").replace("      ootb_deposit_amount: data.amount\n", "") + f"      {param}: {expression}\n"
    path = write_mapping(tmp_path, body)
    values = []
    first(generated_payloads(path, "deposit", validity=1.0), lambda g: values.append(g.payload["data"]["v"]) or len(values) >= 30)
    assert all(check(v) for v in values), values
    assert run_generated(mapper_of(path), examples=20, seed=0).failures == 0


def test_a_number_conversion_passes_a_time_or_comparison_use_on(tmp_path):
    body = DEPOSIT.replace("{when}", "type == 'd' && to_number(data.level) > `2`").replace(
        "timestamp: data.processed_at", "timestamp: from_epoch_millis(to_number(data.created_ms))"
    )
    path = write_mapping(tmp_path, body)
    seen = []
    first(generated_payloads(path, "deposit", validity=1.0), lambda g: seen.append(g.payload["data"]) or len(seen) >= 30)
    assert all(isinstance(d["created_ms"], int) and d["created_ms"] > 10**11 for d in seen), seen  # epoch milliseconds
    assert all(isinstance(d["level"], (int, float)) and d["level"] > 2 for d in seen), seen
    report = run_generated(mapper_of(path), examples=20, seed=0)
    assert report.failures == 0, report.render()


# --- item 8: one path, several uses ----------------------------------------------------------


def test_an_id_compared_with_a_number_gets_whole_numbers_above_the_literal():
    values = []
    strategy = generated_payloads(GOOD / "refunds.yaml", "deposit", validity=1.0)
    first(strategy, lambda g: values.append(g.payload["order"]["customer_id"]) or len(values) >= 40)
    assert all(type(v) is int and v > 0 for v in values), values
    # validity=1.0: broken customer ids ("abc" > 0) are the engine's concern (issue #11 item 1)
    report = run_generated(mapper_of(GOOD / "refunds.yaml"), examples=40, seed=0, validity=1.0)
    assert report.failures == 0, report.render()
    assert report.rules[0].reached_valid >= 20


def test_combined_uses_never_give_a_value_one_use_refuses():
    from ebi_mapper.testing.values import Kind, combine_kinds, compare_kind, text_kind, truthy_kind

    assert combine_kinds(Kind("id"), compare_kind("gt", 0)) == Kind("compare", (True, (("gt", 0),)))
    assert combine_kinds(Kind("number"), Kind("id")) == Kind("int_id")
    assert combine_kinds(Kind("choice", ("a",)), Kind("choice", ("b",))) == Kind("choice", ("a", "b"))
    assert combine_kinds(text_kind(Kind("id")), Kind("currency")) == Kind("currency")
    assert combine_kinds(truthy_kind(Kind("any")), Kind("id")) == Kind("truthy", Kind("id"))
    assert combine_kinds(compare_kind("gt", 0), compare_kind("lt", 10)).detail == (False, (("gt", 0), ("lt", 10)))


# --- item 9: argument kinds, --source-schema, no .hypothesis ---------------------------------


def test_a_zone_read_from_the_payload_gets_iana_names():
    from zoneinfo import ZoneInfo

    zones = set()
    strategy = generated_payloads(GOOD / "sessions.yaml", "deposit", validity=1.0)
    first(strategy, lambda g: zones.update(i["tz"] for i in g.payload["items"]) or len(zones) >= 3)
    assert all(ZoneInfo(z) for z in zones)
    report = run_generated(mapper_of(GOOD / "sessions.yaml"), examples=30, seed=0)
    assert report.failures == 0, report.render()


def _cli(cwd, *args):
    """The CLI in a fresh process: Hypothesis writes its cache once per process, so only a fresh one shows where."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    return subprocess.run([sys.executable, "-m", "ebi_mapper", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_test_takes_a_source_schema_and_leaves_no_hypothesis_dir(tmp_path):
    from .kit_helpers import BROKEN

    mapping = str(BROKEN / "fanout_missing_array.yaml")
    schema = str(BROKEN / "fanout_missing_array.source.json")
    without = _cli(tmp_path, "test", mapping, "--generate", "20", "--seed", "0")
    assert without.returncode == 0, without.stdout + without.stderr  # without the schema the array is always there
    with_schema = _cli(tmp_path, "test", mapping, "--generate", "20", "--seed", "0", "--source-schema", schema)
    assert with_schema.returncode == 1 and "each_not_array" in with_schema.stdout, with_schema.stdout + with_schema.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .hypothesis/ left behind


def test_a_bad_source_schema_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    assert main(["test", str(GOOD / "wallet.yaml"), "--generate", "2", "--source-schema", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "s.json" in err and "not a JSON file" in err and "Traceback" not in err


def test_hypothesis_dir_is_configurable(tmp_path):
    done = _cli(tmp_path, "test", str(GOOD / "wallet.yaml"), "--generate", "2", "--seed", "0", "--hypothesis-dir", "hyp")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["hyp"] and any((tmp_path / "hyp").iterdir())
