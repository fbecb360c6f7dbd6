"""``fail(reason)``: a mapping rejects a record on its own condition, with its reason, on both paths.

Issue #11 item 12b asks for a way to reject a record on a condition; ``fail`` is a function, so it
works in every expression of a rule, and lint refuses a bare ``fail(...)`` that would reject all.
"""

from __future__ import annotations

import pytest

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.lint import lint_path

from .conftest import BASE, DEPOSIT_RULE, NOW, deposit_payload

GUARDED = "ootb_deposit_amount: \"to_number(data.amount) < `0` && fail('a deposit cannot be negative') || data.amount\""


def _write(tmp_path, amount_line: str):
    path = tmp_path / "m.yaml"
    path.write_text(BASE + "rules:\n" + DEPOSIT_RULE.replace("ootb_deposit_amount: data.amount", amount_line))
    return path


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_fail_rejects_the_record_with_the_mappings_reason(tmp_path, fast):
    mapper = compile_mapping(load_mapping(_write(tmp_path, GUARDED)), fast=fast)
    result = mapper.map_record(deposit_payload(amount="-5"), source="in:1", now=NOW)
    [rejection] = result.rejections
    assert rejection.code == "expression_error" and rejection.field == "$.context.ootb_deposit_amount"
    assert "fail(): a deposit cannot be negative" in rejection.message and not result.events
    ok = mapper.map_record(deposit_payload(amount="5"), source="in:2", now=NOW)
    assert not ok.rejections and ok.events[0].context["ootb_deposit_amount"] == 5


def test_lint_refuses_a_bare_fail(tmp_path):
    assert "unconditional-fail" in [f.code for f in lint_path(_write(tmp_path, "ootb_deposit_amount: fail('always')")).findings]
    assert "unconditional-fail" not in [f.code for f in lint_path(_write(tmp_path, GUARDED)).findings]


@pytest.mark.parametrize("reason", ["\n", "two\nlines\r\nhere", "x" * 1000, ""], ids=["newline", "lines", "long", "empty"])
def test_a_fail_reason_is_one_short_line(reason):
    """Hypothesis found fail('\\n') giving a two-line message: a reason may come from the payload."""
    from ebi_mapper.default_plugins.functions import fn_fail
    from ebi_mapper.expressions.value_errors import FunctionValueError

    with pytest.raises(FunctionValueError) as info:
        fn_fail(reason)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message and len(message) < 400 and message.startswith("fail(): ")
