"""Lint hints for unit mistakes that map cleanly, so no test or guard sees them (issue #11, item 10).

Names are the only evidence, so these are warnings and say what to write if the name is right.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ebi_mapper.lint import lint_path

BASE = Path(__file__).parent / "base.yaml"


def _codes(tmp_path: Path, old: str, new: str, *, zone: str | None = None) -> list[tuple[str, str]]:
    text = BASE.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new)
    if zone is not None:
        text = text.replace("source_timezone: Europe/Malta", f"source_timezone: {zone}")
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return [(f.code, f.message) for f in lint_path(path).findings if f.code in ("minor-units", "zone-name")]


@pytest.mark.parametrize("name", ["amount_cents", "cents", "total_minor", "amount_in_minor_units", "amountCents", "value_pence", "totalMinor"])
def test_an_amount_from_a_minor_unit_path_without_conversion_is_hinted(tmp_path, name):
    found = _codes(tmp_path, "ootb_withdrawal_amount: data.amount\n", f"ootb_withdrawal_amount: data.{name}\n")
    assert [c for c, _ in found] == ["minor-units"] and f"minor_to_major(data.{name}, `2`)" in found[0][1]


@pytest.mark.parametrize(
    "expression",
    ["minor_to_major(data.amount_cents, `2`)", "divide(data.amount_cents, `100`)", "data.amount", "data.percent", "data.minority_share"],
)
def test_converted_or_plainly_named_amounts_are_not_hinted(tmp_path, expression):
    assert _codes(tmp_path, "ootb_withdrawal_amount: data.amount\n", f"ootb_withdrawal_amount: {expression}\n") == []


def test_a_cents_path_in_a_non_monetary_param_is_not_hinted(tmp_path):
    assert _codes(tmp_path, "ootb_launch_location_index: data.lobby_position\n", "ootb_launch_location_index: data.position_cents\n") == []


def test_a_utc_named_time_read_in_a_local_zone_is_hinted(tmp_path):
    found = _codes(tmp_path, "\n    timestamp: data.ended_at\n", "\n    timestamp: data.ended_at_utc\n")
    assert [c for c, _ in found] == ["zone-name"] and "Europe/Malta" in found[0][1]
    assert _codes(tmp_path, "\n    timestamp: data.ended_at\n", "\n    timestamp: to_utc(data.ended_at_utc, 'UTC')\n") == []
    assert _codes(tmp_path, "\n    timestamp: data.ended_at\n", "\n    timestamp: data.ended_at_utc\n", zone="UTC") == []


def test_a_local_named_time_read_as_utc_is_hinted(tmp_path):
    found = _codes(tmp_path, "\n    timestamp: data.ended_at\n", "\n    timestamp: data.local_ended_at\n", zone="UTC")
    assert [c for c, _ in found] == ["zone-name"] and "named like a local time" in found[0][1]
    assert _codes(tmp_path, "\n    timestamp: data.ended_at\n", "\n    timestamp: data.ended_at_local\n") == []  # Europe/Malta declared
