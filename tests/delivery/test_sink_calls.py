"""How a sink's answer or exception is sorted (delivery/sink_calls.py), and that a run whose sinks never use httpx never imports it."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import httpx
import pytest

from ebi_mapper.delivery.sink_calls import is_transient, result_of_send
from ebi_mapper.errors import PermanentSinkError, SinkBugError, TransientSinkError
from ebi_mapper.extensions import SendResult

ROOT = Path(__file__).resolve().parents[2]


def _failed(exc: BaseException) -> Future:
    fut: Future = Future()
    fut.set_exception(exc)
    return fut


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ConnectionResetError("reset"),
                                 TimeoutError("timed out"), TransientSinkError("busy", retry_after=2.0)])
def test_network_and_declared_transient_failures_are_retried(exc):
    assert is_transient(exc)
    result = result_of_send(object(), _failed(exc))
    assert result.status == "retry"
    if isinstance(exc, TransientSinkError):
        assert result.retry_after == 2.0


def test_a_declared_refusal_is_rejected_and_anything_else_is_a_bug_in_the_sink():
    assert result_of_send(object(), _failed(PermanentSinkError("no", rejected_index=3))).rejected_index == 3
    for exc in (KeyError("x"), httpx.HTTPStatusError("500", request=None, response=None)):  # type: ignore[arg-type]
        assert not is_transient(exc)
        with pytest.raises(SinkBugError):
            result_of_send(object(), _failed(exc))
    ok: Future = Future()
    ok.set_result(SendResult("ok"))
    assert result_of_send(object(), ok).status == "ok"


def test_a_jsonl_run_never_imports_httpx(tmp_path):
    """httpx is a seventh of the start-up; only a sink that sends over HTTP may load it."""
    feed = tmp_path / "in.jsonl"
    feed.write_text('{"type": "wallet.deposit", "data": {oops\n')
    code = (
        "import sys\n"
        "from ebi_mapper.cli import main\n"
        f"sys.argv = ['ebi-mapper', 'run', {str(ROOT / 'bench/mappings/casino.yaml')!r}, '--input', {str(feed)!r}, "
        f"'--state-dir', {str(tmp_path / 'state')!r}, '--sink', 'jsonl', '--sink-option', 'path={tmp_path / 'out.jsonl'}', "
        "'--no-progress', '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('httpx' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr
