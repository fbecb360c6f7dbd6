"""Operator mistakes give one clear line naming the path and why, exit 2 or 3, never a traceback.

Every command that takes a path is tried with the faults an operator makes (issue #11 item 4): a
missing input, an input under a regular file, a directory where a file is expected, an output into
a missing or read-only place, a state dir that is a file, read-only, or not a state dir at all.
Tests run as root here, which ignores permission bits: a read-only directory is made immutable
with ``chattr +i`` (cases needing it are skipped where that is not possible).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ebi_mapper.cli import main

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "tests" / "delivery" / "data" / "casino.yaml"


def _make_read_only(path: Path) -> bool:
    """Make ``path`` (a directory) refuse new files, even to root; False if this machine cannot."""
    if os.geteuid() != 0:
        path.chmod(0o555)
    elif shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        return False
    probe = path / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return True
    probe.unlink()
    return False


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A working dir with: in.jsonl, a regular file `afile`, a directory `adir`, a read-only dir `ro`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"type": "deposit"}\n')
    (tmp_path / "afile").write_text("x\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "notstate").mkdir()
    (tmp_path / "volumes.yaml").write_text("ootb_deposit: 1\n")
    (tmp_path / "payload.json").write_text("{}")
    badstate = tmp_path / "badstate"
    badstate.mkdir()
    (badstate / "state.sqlite").write_text("this is not a database\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "state.sqlite").mkdir()  # never reached: the lock comes first
    ro_ok = _make_read_only(ro)
    yield tmp_path, ro_ok
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(ro)], capture_output=True)
    else:
        ro.chmod(0o755)


M = str(MAPPING)
RUN = ["run", M, "--input", "in.jsonl", "--sink", "jsonl", "--sink-option", "path=out.jsonl", "--no-progress", "--linger-ms", "1"]

# (id, argv, the path the message must name, needs the read-only dir)
CASES = [
    ("lint-missing", ["lint", "nope.yaml"], "nope.yaml", False),
    ("lint-dir", ["lint", "adir"], "adir", False),
    ("map-missing-input", ["map", M, "nope.jsonl"], "nope.jsonl", False),
    ("map-input-under-a-file", ["map", M, "afile/in.jsonl"], "afile/in.jsonl", False),
    ("map-input-dir", ["map", M, "adir"], "adir", False),
    ("map-mapping-missing", ["map", "nope.yaml", "in.jsonl"], "nope.yaml", False),
    ("map-out-missing-dir", ["map", M, "in.jsonl", "-o", "nodir/out.jsonl"], "nodir/out.jsonl", False),
    ("map-out-read-only", ["map", M, "in.jsonl", "-o", "ro/out.jsonl"], "ro/out.jsonl", True),
    ("map-rejects-under-a-file", ["map", M, "in.jsonl", "--rejects", "afile/r.jsonl"], "afile/r.jsonl", False),
    ("map-rejects-read-only", ["map", M, "in.jsonl", "--rejects", "ro/r.jsonl"], "ro/r.jsonl", True),
    ("map-bespoke-dir", ["map", M, "in.jsonl", "--bespoke-out", "adir"], "adir", False),
    ("explain-missing", ["explain", M, "nope.json"], "nope.json", False),
    ("explain-dir", ["explain", M, "adir"], "adir", False),
    ("test-missing", ["test", "nope.yaml"], "nope.yaml", False),
    ("run-missing-input", [*RUN[:3], "nope.jsonl", *RUN[4:], "--state-dir", "st"], "nope.jsonl", False),
    ("run-input-under-a-file", [*RUN[:3], "afile/x", *RUN[4:], "--state-dir", "st"], "afile/x", False),
    ("run-state-dir-is-a-file", [*RUN, "--state-dir", "afile"], "afile", False),
    ("run-state-dir-under-a-file", [*RUN, "--state-dir", "afile/st"], "afile/st", False),
    ("run-state-dir-read-only", [*RUN, "--state-dir", "ro"], "ro", True),
    ("run-state-dir-in-a-read-only-dir", [*RUN, "--state-dir", "ro/st"], "ro/st", True),
    ("run-state-store-not-a-database", [*RUN, "--state-dir", "badstate"], "badstate", False),
    ("run-sink-out-read-only", [*RUN[:7], "path=ro/out.jsonl", *RUN[8:], "--state-dir", "st"], "ro/out.jsonl", True),
    ("dlq-list-missing", ["dlq", "list", "--state-dir", "nope"], "nope", False),
    ("dlq-list-file", ["dlq", "list", "--state-dir", "afile"], "afile", False),
    ("dlq-list-not-a-state-dir", ["dlq", "list", "--state-dir", "notstate"], "notstate", False),
    ("dlq-list-read-only", ["dlq", "list", "--state-dir", "ro"], "ro", True),
    ("dlq-show-not-a-state-dir", ["dlq", "show", "1", "--state-dir", "notstate"], "notstate", False),
    ("dlq-replay-read-only", ["dlq", "replay", M, "--state-dir", "ro"], "ro", True),
    ("dlq-replay-under-a-file", ["dlq", "replay", M, "--state-dir", "afile/st"], "afile/st", False),
    ("state-stats-not-a-state-dir", ["state", "stats", "--state-dir", "notstate"], "notstate", False),
    ("state-stats-read-only", ["state", "stats", "--state-dir", "ro"], "ro", True),
    ("state-compact-file", ["state", "compact", "--state-dir", "afile"], "afile", False),
    ("plan-volumes-missing", ["plan", M, "--volumes", "nope.yaml"], "nope.yaml", False),
    ("plan-volumes-dir", ["plan", M, "--volumes", "adir"], "adir", False),
    ("sandbox-db-under-a-file", ["sandbox", "--db", "afile/x.db"], "afile/x.db", False),
    ("sandbox-db-read-only", ["sandbox", "--db", "ro/x.db"], "ro/x.db", True),
    ("sandbox-db-dir", ["sandbox", "--db", "adir"], "adir", False),
    ("demo-state-dir-file", ["demo", "--state-dir", "afile"], "afile", False),
    ("demo-state-dir-read-only", ["demo", "--state-dir", "ro"], "ro", True),
]


@pytest.mark.parametrize(("argv", "path", "needs_ro"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_an_operator_mistake_is_one_clear_line_not_a_traceback(place, capsys, argv, path, needs_ro):
    _, ro_ok = place
    if needs_ro and not ro_ok:
        pytest.skip("cannot make a read-only directory here (root without chattr)")
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (2, 3), (code, out, err)
    assert path in err or (argv[0] == "lint" and path in out), (out, err)


def test_dlq_list_does_not_create_a_state_store_where_there_was_none(place):
    tmp_path, _ = place
    main(["dlq", "list", "--state-dir", "notstate"])
    assert list((tmp_path / "notstate").iterdir()) == []
