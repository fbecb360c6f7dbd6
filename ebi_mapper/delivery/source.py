"""Stream input records from a JSON-lines file, a folder of them, or stdin, resumably.

A record is one line. Each carries the position *after* it (file name and byte offset), which
is what the checkpoint stores, so a restarted run seeks straight to the next unread line. Lines
are read one at a time with a size cap, so memory stays flat whatever the input size; a line
that is not JSON, not UTF-8, nested too deep, too long or not an object becomes a record with
``error`` and ``code`` set (the pipeline dead-letters it) and reading goes on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..engine.jsonl.decode import MAX_LINE_BYTES, iter_jsonl
from ..errors import DeliveryError

__all__ = ["InputRecord", "InputSource", "make_source", "MAX_LINE_BYTES"]


_set = object.__setattr__


@dataclass(frozen=True, init=False)
class InputRecord:
    """One input line: its payload (or why it has none) and where the next line starts.

    Frozen, with a hand-written ``__init__`` that stores the fields in one assignment (as
    ``OotbEvent``): one is made per line, twice with the mapping process (premap.py), and the
    generated one's eleven ``object.__setattr__`` calls cost more than the rest of the record's
    hand-over; tests/delivery/test_premap.py checks ``__init__`` and the fields stay one.
    """

    source: str  # 'name:line' for people
    raw: bytes  # the line as read (capped), kept for dead letters
    payload: Any = None
    error: str | None = None  # set when the line is not a usable JSON document
    file: str = ""  # the file this line is in (its name inside a folder input)
    offset: int = 0  # byte offset just after this line
    line: int = 0  # 1-based line number in that file
    ref: Any = None  # the dead-letter id when a replay produced this record
    code: str | None = None  # the decoder's rejection code with ``error`` (engine/jsonl/decode.py)
    dead_letter_kind: str = "malformed"  # the dead letter's kind with ``error`` ('intake': a body serve refused)
    prepared: Any = None  # units.Prepared when the mapping process (premap.py) mapped it already

    def __init__(self, source: str, raw: bytes, payload: Any = None, error: str | None = None, file: str = "", offset: int = 0,
                 line: int = 0, ref: Any = None, code: str | None = None, dead_letter_kind: str = "malformed", prepared: Any = None) -> None:
        _set(self, "__dict__", {"source": source, "raw": raw, "payload": payload, "error": error, "file": file, "offset": offset,
                                "line": line, "ref": ref, "code": code, "dead_letter_kind": dead_letter_kind, "prepared": prepared})


def _read_lines(fh: BinaryIO, name: str, start_offset: int, first_line: int, max_bytes: int, file_key: str) -> Iterator[InputRecord]:
    # The engine's reader (engine/jsonl/decode.py), shared with `map`: the same line gets the same
    # rejection code and reason in both commands. Blank lines are not records; the checkpoint
    # still moves past them with the next one.
    for line in iter_jsonl(fh, name=name, start_offset=start_offset, start_line=first_line, max_line_bytes=max_bytes):
        rej = line.rejection
        if rej is None:
            yield InputRecord(f"{name}:{line.line}", line.raw, line.payload, None, file_key, line.end, line.line)
        else:
            yield InputRecord(f"{name}:{line.line}", line.raw, None, rej.message, file_key, line.end, line.line, code=rej.code)


def _own_stdin() -> BinaryIO:
    """A reader of its own on file descriptor 0 (``sys.stdin`` when it has none, e.g. in-process tests).

    The reader thread may still be blocked reading when a stopped run exits; on ``sys.stdin``
    itself that makes the interpreter abort at shutdown (it must lock the stream to close it).
    """
    try:
        return open(sys.stdin.fileno(), "rb", closefd=False)
    except (AttributeError, OSError, ValueError):
        return sys.stdin.buffer


@dataclass(frozen=True)
class InputSource:
    """Where records come from, and how to name it in the state store.

    ``resumable`` is false for stdin: a new stream cannot be matched to an old checkpoint.
    """

    input_id: str
    path: Path | None  # None for stdin
    is_dir: bool = False
    max_line_bytes: int = MAX_LINE_BYTES

    @property
    def resumable(self) -> bool:
        return self.path is not None

    def files(self) -> list[Path]:
        """The files read, in order (folder inputs: regular, non-hidden files by name)."""
        if self.path is None:
            return []
        if not self.is_dir:
            return [self.path]
        return sorted(p for p in self.path.iterdir() if p.is_file() and not p.name.startswith("."))

    def byte_progress(self, file: str, offset: int) -> tuple[int, int] | None:
        """``(bytes read, bytes in all)`` at the position ``(file, offset)``; ``None`` when the size is unknown (stdin).

        Sizes are read when asked (a progress display asks a few times a second), so a file that
        grows while it is read shows its new size.
        """
        if self.path is None:
            return None
        try:
            files = self.files()
            sizes = [(p.name if self.is_dir else "", p.stat().st_size) for p in files]
        except OSError:
            return None
        done = sum(size for name, size in sizes if self.is_dir and file and name < file) + offset
        return min(done, sum(size for _, size in sizes)), sum(size for _, size in sizes)

    def records(self, *, file: str = "", offset: int = 0, line: int = 0) -> Iterator[InputRecord]:
        """Records from the position ``(file, offset)`` on; ``line`` is the line number at that offset."""
        if self.path is None:
            yield from _read_lines(_own_stdin(), "stdin", 0, 0, self.max_line_bytes, "")
            return
        for path in self.files():
            key = path.name if self.is_dir else ""
            if self.is_dir and file and path.name < file:
                continue  # finished by an earlier run
            resume = not self.is_dir or path.name == file
            start, first_line = (offset, line) if resume else (0, 0)
            try:
                fh = open(path, "rb")
            except OSError as exc:
                raise DeliveryError(f"cannot read input {path}: {exc}") from exc
            with fh:
                if start:
                    fh.seek(start)
                yield from _read_lines(fh, path.name, start, first_line, self.max_line_bytes, key)


def make_source(spec: str, *, max_line_bytes: int = MAX_LINE_BYTES, run_tag: str = "") -> InputSource:
    """An :class:`InputSource` for a file path, a folder path, or ``-`` (stdin).

    The input id is the absolute path (so the same file resumes the same checkpoint); stdin gets
    a fresh id per run (``run_tag``) because it cannot be resumed.
    """
    if spec == "-":
        return InputSource(f"stdin@{run_tag or os.getpid()}", None, max_line_bytes=max_line_bytes)
    path = Path(spec)
    if not path.exists():
        raise DeliveryError(f"input {spec!r} does not exist")
    resolved = path.resolve()
    return InputSource(str(resolved) + (os.sep if resolved.is_dir() else ""), resolved, resolved.is_dir(), max_line_bytes)
