"""Any exception raised inside one rule rejects the record (naming the rule and why); the stream goes on.

``merge(data, data.extra || `{}`)`` with ``extra: 1`` raises Python's ``TypeError`` inside jmespath's own
function (it checks only the first variadic argument), on both engine paths: a real trigger of the
class "an exception that is not a JMESPath error" (issue #11 item 1).
"""

from __future__ import annotations

import json

import pytest

from ebi_mapper.cli import main
from ebi_mapper.engine import Trace

from .conftest import BASE, DEPOSIT_RULE, NOW, deposit_payload

# The deposit rule twice more: once failing in `when`, once in a context field.
BOOM_RULE = DEPOSIT_RULE.replace("name: deposit", "name: boom").replace(
    "when: \"type == 'wallet.deposit'\"", "when: \"type == 'wallet.deposit' && merge(data, data.extra || `{}`) != null\""
)
FIELD_BOOM_RULE = DEPOSIT_RULE.replace("name: deposit", "name: field-boom").replace(
    "ootb_deposit_method: data.method", "ootb_deposit_method: to_string(merge(data, data.extra || `{}`))"
)


@pytest.mark.parametrize("rules", [BOOM_RULE, FIELD_BOOM_RULE], ids=["when", "field"])
@pytest.mark.parametrize("path", ["fast", "reference", "trace"])
def test_an_exception_in_a_rule_is_a_rejection_naming_the_rule(make_mapper, rules, path):
    mapper = make_mapper(DEPOSIT_RULE + rules)
    name = "boom" if rules is BOOM_RULE else "field-boom"
    payload = deposit_payload(extra=1)
    if path == "reference":
        mapper.fast = False
    result = mapper.map_record(payload, source="in:2", now=NOW, trace=Trace() if path == "trace" else None)
    [rejection] = result.rejections
    assert (rejection.code, rejection.rule, rejection.source) == ("rule_failed", name, "in:2")
    assert "TypeError" in rejection.message and name in rejection.message
    assert [e.rule for e in result.events] == ["deposit"]  # the other rule still ran


def test_map_many_maps_the_records_around_a_failing_one(make_mapper):
    mapper = make_mapper(BOOM_RULE)
    results = mapper.map_many([deposit_payload(), deposit_payload(extra=1), deposit_payload(tx_id="tx-3")], now=NOW, sources=["a", "b", "c"])
    assert [len(r.events) for r in results] == [1, 0, 1]
    assert [r.code for r in results[1].rejections] == ["rule_failed"]


def _write(tmp_path, rules):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(BASE + "rules:\n" + rules)
    return mapping


@pytest.mark.parametrize("workers", ["1", "2"])
def test_map_cli_rejects_the_record_and_writes_the_rest(tmp_path, workers):
    mapping = _write(tmp_path, BOOM_RULE)
    lines = [deposit_payload(tx_id="t1"), deposit_payload(tx_id="t2", extra=1), deposit_payload(tx_id="t3")]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in lines))
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    assert main(["map", str(mapping), str(src), "-o", str(out), "--rejects", str(rej), "--now", "2026-12-15T12:00:00Z", "--workers", workers]) == 1
    assert [json.loads(x)["context"]["ootb_transaction_id"] for x in out.read_text().splitlines()] == ["t1", "t3"]
    [bad] = [json.loads(x) for x in rej.read_text().splitlines()]
    assert bad["source"].endswith(":2") and bad["rejections"][0]["code"] == "rule_failed" and bad["rejections"][0]["rule"] == "boom"


def test_explain_shows_the_failing_rule_as_a_rejection(tmp_path, capsys):
    mapping = _write(tmp_path, BOOM_RULE)
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps(deposit_payload(extra=1)))
    assert main(["explain", str(mapping), str(payload), "--now", "2026-12-15T12:00:00Z"]) == 1
    shown = capsys.readouterr().out
    assert "rejected [rule_failed] boom" in shown and "TypeError" in shown
