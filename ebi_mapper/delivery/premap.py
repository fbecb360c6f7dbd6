"""``run`` reads and maps its input in a child process, on the second core (docs/delivery.md, "Mapping process").

The loop's thread owns the state store: dedup, outbox, sending and acknowledging. Reading,
decoding, mapping and the pure per-event work (units.py: body, content and PK hashes, rate
class, sighting time) need none of it, so :class:`MapProcess` does them in a forked child and
hands the loop each chunk in the :class:`~.units.Prepared` form over a pipe; the loop's work per
record is then what needs its state plus one ``pickle.loads``. It has the interface of
:class:`~.readers.ThreadedReader` (``take``, ``stop``, ``close``).

Why it is safe and bounded:

* **fork**, started from ``run_input`` before the loop reads: the child has the compiled mapping
  and the ingestor already (nothing is linted, compiled or pickled to start it). Other threads
  may exist then (a progress display, a sink's connection pool); the child has only the forking
  one, and it touches nothing they might have locked: no stdio, no logging, no SQLite, no sink;
  it reads the input, maps, pickles and writes to its pipe, and leaves with ``os._exit`` (no
  ``atexit``, no flush of buffers it inherited). ``os.fork`` rather than ``multiprocessing``:
  its bootstrap closes stdin (which the child reads for ``--input -``) and flushes the inherited
  standard streams (which would write a ``--sink stdout``'s pending events twice).
* **bounded**: the pipe is the only buffer (1 MiB, about 1,500 mapped records); the child
  blocks on a full pipe, and the loop reads one chunk when it wants records: memory stays flat.
* **small batches**: the child works and ships ``_BATCH`` records at a time, and the loop gathers
  its chunk from several of them: each batch stays in the CPU cache from reading to pickling.
* **signals**: the child ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group);
  the loop's graceful stop closes the control pipe, the child ships what it has read and ends.
* **the loop dies** (SIGKILL): the child's next write fails (EPIPE), or, idle on a trickling
  stdin, it sees the control pipe's end of file or its new parent within 0.2 s, and exits.
* **the child dies**: the loop finds the data pipe's end of file without the end mark and stops
  with a :class:`DeliveryError` naming how it died; the checkpoint is that of the last committed
  chunk and the next run resumes from it.
* a mapping exception on one record stays that record's ``internal_error`` rejection
  (units.map_records, the same code as in the loop).

Measured on 50k records: pickling RecordResults took 0.43 s to write and 0.97 s to read; the
``Prepared`` chunks (plain tuples, dicts and bytes) about 0.15 s each way.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import select
import signal
import time
from collections import deque
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from ..cpus import usable_cpus
from ..engine.timestamps import DST_LOG
from ..errors import DeliveryError
from ..outcomes import OotbEvent
from .readers import DirectReader, ThreadedReader
from .source import InputRecord, InputSource
from .units import Prepared, gc_paused

__all__ = ["MapProcess", "open_reader", "use_map_process", "MAP_PROCESS_CHOICES"]

MAP_PROCESS_CHOICES = ("auto", "on", "off")
_PIPE_BYTES = 1 << 20  # the pipe is the buffer between the processes: about 1,500 mapped records
# The child reads, maps, prepares and pickles this many records at a time, whatever the loop's
# chunk (the loop gathers its chunk from several messages): a batch's objects are still in the
# CPU cache from one step to the next. Measured on 200k records (bench/bench_run.py's feed): the
# child's CPU per record fell by a fifth against batches of the loop's 2,000, pickling by half.
_BATCH = 128
_END = b"E"  # the child read everything it was asked to and shipped it
_FAILED = b"X"  # followed by a one-line reason
_CHUNK = b"C"  # followed by the pickled chunk
_STOP_WAIT = 2.0  # seconds a graceful stop waits for what the child has read (a chunk maps in milliseconds)


def use_map_process(setting: str, source: Any) -> bool:
    """Whether ``run_input`` maps ``source`` in a child: file, folder or stdin inputs, ``auto`` with 2+ usable CPUs."""
    if setting == "off" or not isinstance(source, InputSource) or not hasattr(os, "fork"):
        return False
    return setting == "on" or usable_cpus() >= 2


def open_reader(source: Any, cp: Any, ingestor: Any, chunk_size: int, setting: str) -> Any:
    """The reader ``run_input`` takes chunks from: a :class:`MapProcess`, or a ThreadedReader of raw records."""
    if use_map_process(setting, source):
        return MapProcess(source, cp, ingestor, chunk_size)
    return ThreadedReader(source.records(file=cp.file, offset=cp.offset, line=cp.line), chunk_size * 2)


# -- the wire form ---------------------------------------------------------------------------
# A record: (source, raw, payload, error, file, offset, line, code, dead_letter_kind, prepared, whole):
# ``prepared`` the Prepared fields; ``whole`` the indexes of its events shipped as OotbEvent fields
# (those that need the loop's state) or None; the payload only when the loop may need it for a
# dead letter. Pickled: marshal measured no faster on these plain tuples, dicts and strings, and
# pickle takes any type a plugin may put in an event.


def _encode(records: list[InputRecord], prepared: list[Prepared], dst: dict | None) -> bytes:
    wire: list[tuple] = []
    append = wire.append
    it = iter(prepared)
    for r in records:
        if r.error is not None:
            append((r.source, r.raw, None, r.error, r.file, r.offset, r.line, r.code, r.dead_letter_kind, None, None))
            continue
        p = next(it)
        whole = [i for i, e in enumerate(p.events) if type(e) is not tuple] or None
        if whole:
            events = list(p.events)
            for i in whole:
                e = events[i]
                events[i] = (e.tenant, e.event, e.customer, e.timestamp, e.context, e.rule, e.pk, e.version)
            p = p._replace(events=events)
        if dst:  # the chunk's counts ride on its first mapped record
            p, dst = p._replace(dst=dst), None
        append((r.source, r.raw, r.payload if whole or p.rejections else None, None, r.file, r.offset, r.line, None,
                r.dead_letter_kind, tuple(p), whole))
    return _CHUNK + pickle.dumps(wire, protocol=5)


def _decode(data: bytes) -> list[InputRecord]:
    wire = pickle.loads(memoryview(data)[1:])
    make = Prepared._make
    out: list[InputRecord] = []
    append = out.append
    for source, raw, payload, error, file, offset, line, code, kind, p, whole in wire:
        if whole:
            events = p[2]
            for i in whole:
                events[i] = OotbEvent(*events[i])
        append(InputRecord(source, raw, payload, error, file, offset, line, None, code, kind, None if p is None else make(p)))
    return out


# -- the child -------------------------------------------------------------------------------
def _child(source: InputSource, cp: Any, ingestor: Any, chunk: int, data_fd: int, ctl_fd: int, parent: int) -> NoReturn:
    code = 0
    out: Connection | None = None
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # the loop stops gracefully and then closes this process
        gc.freeze()  # the inherited heap is never collected here: no scans of it, no copied pages
        out = Connection(data_fd, readable=False)
        records = source.records(file=cp.file, offset=cp.offset, line=cp.line)
        # stdin (or a named pipe) may trickle: a thread reads it, and what it read goes as soon as
        # the loop could use it (the loop waits a little for a whole chunk: MapProcess.take).
        trickles = source.path is None or (not source.is_dir and not source.path.is_file())
        reader: Any = ThreadedReader(records, 2 * chunk) if trickles else DirectReader(records)
        while True:
            stopping = bool(select.select([ctl_fd], [], [], 0)[0])  # the control pipe is only ever closed
            if os.getppid() != parent:
                os._exit(0)  # the loop is gone (SIGKILL): nobody to ship to
            if stopping:
                left = reader.stop()
                for start in range(0, len(left), chunk):
                    _ship(out, ingestor, left[start:start + chunk])
                out.send_bytes(_END)
                break
            recs, ended = reader.take(chunk, 0.2)
            if recs:
                _ship(out, ingestor, recs)
            if ended:
                out.send_bytes(_END)
                break
    except BrokenPipeError:  # the loop is gone or stopped listening
        code = 1
    except BaseException as exc:  # noqa: BLE001 - reported to the loop, which stops with it
        code = 1
        reason = (str(exc) if isinstance(exc, DeliveryError) else f"reading the input failed: {exc}" if isinstance(exc, OSError)
                  else f"the mapping process failed: {type(exc).__name__}: {exc}")
        if out is not None:
            with contextlib.suppress(BaseException):
                out.send_bytes(_FAILED + reason.encode("utf-8", "replace"))
    os._exit(code)


def _ship(out: Connection, ingestor: Any, records: list[InputRecord]) -> None:
    with gc_paused():
        DST_LOG.take()
        prepared = ingestor.prepare_all([r for r in records if r.error is None], datetime.now(UTC))
        dst = {k: n for k, n in DST_LOG.take().items() if n} or None
        data = _encode(records, prepared, dst)
    out.send_bytes(data)


# -- the loop's side -------------------------------------------------------------------------
class MapProcess:
    """A reader whose records come mapped (``InputRecord.prepared``) from a forked child process."""

    def __init__(self, source: InputSource, cp: Any, ingestor: Any, chunk_size: int):
        data_r, data_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        with contextlib.suppress(AttributeError, OSError):  # Linux: room for about a dozen batches
            fcntl.fcntl(data_w, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (its behaviour is tested through the loop)
            os.close(data_r)
            os.close(ctl_w)
            _child(source, cp, ingestor, max(1, min(chunk_size, _BATCH)), data_w, ctl_r, parent)
        os.close(data_w)
        os.close(ctl_r)
        self.pid = pid
        self._conn = Connection(data_r, writable=False)
        self._ctl: int | None = ctl_w
        self._buf: deque[InputRecord] = deque()
        self._ended = False
        self._reaped = False

    def take(self, n: int, timeout: float, fill: float = 0.0) -> tuple[list[InputRecord], bool]:
        """Up to ``n`` records, waiting at most ``timeout`` for the first; and whether input ended.

        ``fill``: once there is a first record, wait up to this long more for ``n`` of them (as
        ThreadedReader.take; the child ships a file in whole chunks, a trickling stdin as it comes).
        """
        buf = self._buf
        if not buf and not self._ended:
            self._receive(timeout)
        if fill > 0 and buf and len(buf) < n and not self._ended:
            ends = time.monotonic() + fill
            while len(buf) < n and not self._ended and self._receive(ends - time.monotonic()):
                pass
        out: list[InputRecord] = []
        popleft = buf.popleft
        while buf and len(out) < n:
            out.append(popleft())
        return out, self._ended and not buf

    def _receive(self, timeout: float) -> bool:
        """Read one message if one comes within ``timeout``; whether one did."""
        if not self._conn.poll(max(0.0, timeout)):
            return False
        try:
            data = self._conn.recv_bytes()
        except (EOFError, OSError):
            self._died()
        tag = data[:1]
        if tag == _END:
            self._ended = True
            self._reap()
        elif tag == _FAILED:
            self._reap()
            raise DeliveryError(data[1:].decode("utf-8", "replace"))
        else:
            with gc_paused():
                self._buf.extend(_decode(data))
        return True

    def _died(self) -> NoReturn:
        status = self._reap()
        if status is not None and os.WIFSIGNALED(status):
            how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        elif status is not None and os.WIFEXITED(status):
            how = f"exited with code {os.WEXITSTATUS(status)}"
        else:
            how = "closed its pipe"
        raise DeliveryError(f"the mapping process {how} before the end of the input; what was committed stays, "
                            "run again to resume from the checkpoint")

    def _reap(self, kill: bool = False) -> int | None:
        if self._ctl is not None:
            os.close(self._ctl)
            self._ctl = None
        if self._reaped:
            return None
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self._reaped = True
        return os.waitpid(self.pid, 0)[1]

    def stop(self) -> list[InputRecord]:
        """Stop reading and hand back the records already read: those received and what the child read (stdin cannot be read again)."""
        out = list(self._buf)
        self._buf.clear()
        if not self._ended and self._ctl is not None:
            os.close(self._ctl)  # the child ships what it has read, then its end mark
            self._ctl = None
            deadline = time.monotonic() + _STOP_WAIT
            with contextlib.suppress(DeliveryError):
                while not self._ended and self._receive(deadline - time.monotonic()):
                    out.extend(self._buf)
                    self._buf.clear()
        self.close()
        return out

    def close(self) -> None:
        """End the child (at once unless it shipped everything) and release the pipes."""
        self._reap(kill=not self._ended)
        self._conn.close()
