"""The demo's two passes: the record line and the event line of each summary tell one story.

A record is "delivered" only when one of its events reached the receiver in that pass; a record
whose events were all superseded (a newer version queued, or already at the receiver) is counted
as such, and the record counts still add up to the input.
"""

from __future__ import annotations

import re

from click.testing import CliRunner

from ebi_mapper.cli import cli

RECORDS = re.compile(r"^records:\s+([\d,]+) read = (.+)$", re.M)
EVENTS = re.compile(r"^events:\s+.*?: ([\d,]+) delivered, ([\d,]+) dead-lettered, ([\d,]+) superseded", re.M)


def _n(text: str) -> int:
    return int(text.replace(",", ""))


def _record_parts(rhs: str) -> dict[str, int]:
    parts = {}
    for term in rhs.split(" + "):
        m = re.match(r"([\d,]+) (.+)", term.strip())
        assert m, term
        parts[m.group(2)] = _n(m.group(1))
    return parts


def test_each_demo_pass_reports_records_consistent_with_its_events(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--state-dir", str(tmp_path / "state")])
    out = result.output + (result.stderr if hasattr(result, "stderr") and result.stderr_bytes is not None else "")
    assert result.exit_code == 0, out
    records, events = RECORDS.findall(out), EVENTS.findall(out)
    assert len(records) == len(events) == 2, out
    for (read, rhs), (delivered, _dead, superseded) in zip(records, events, strict=True):
        parts = _record_parts(rhs)
        assert sum(parts.values()) == _n(read), (read, parts)  # every record accounted for, once
        # A record delivered in a pass has at least one of its events delivered in that pass.
        assert parts.get("delivered", 0) <= _n(delivered), (parts, delivered)
        if _n(superseded):  # the record line names what the event line calls superseded
            assert parts.get("superseded", 0) >= 1, out


def test_the_demos_second_pass_sends_nothing(tmp_path):
    """The demo says a second pass over the same input sends nothing: every event is already there."""
    result = CliRunner().invoke(cli, ["demo", "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    events = EVENTS.findall(result.output)
    assert len(events) == 2 and _n(events[0][0]) > 0, result.output
    assert _n(events[1][0]) == 0, result.output
    assert "'duplicate'" not in result.output.split("what the sandbox received")[-1].split("stored")[0], result.output
