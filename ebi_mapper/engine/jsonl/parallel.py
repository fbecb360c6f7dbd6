"""Map batches of raw JSON lines to output bytes, in this process or in a pool of worker processes.

:func:`map_lines` is the ``ebi-mapper map`` loop body: decode, map, encode a list of lines
from :func:`~ebi_mapper.engine.jsonl.lines.iter_line_batches` into the bytes of the events, rejects
and bespoke files. :func:`map_in_workers` hands groups of such lines to N processes (each
compiles the mapping once) and yields their results strictly in input order, with a bounded
number of groups in flight so memory stays flat whatever the input size. Both run the same
:func:`map_lines`, which is what makes the output byte-identical for any number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ...cpus import usable_cpus
from ..timestamps import DST_LOG
from .accounting import MapCounts
from .decode import decode_lines
from .lines import LineBatch

__all__ = ["AUTO_MIN_BYTES", "BATCH_LINES", "GROUP_LINES", "MappedBytes", "auto_workers", "map_lines", "map_in_workers", "resolve_workers"]

BATCH_LINES = 128  # lines per map_many call: measured best (cache-friendly, memory flat); 2048 was 15% slower
GROUP_LINES = 2048  # lines per task sent to a worker: big enough that pickling and IPC are a small share
# `--workers auto` uses one process per CPU from this input size on: below it, starting workers
# (each compiles the mapping, ~0.3 s) costs more than it saves (~70,000 webhook lines a side).
AUTO_MIN_BYTES = 32 * 1024 * 1024
_IN_FLIGHT_PER_WORKER = 3  # groups queued per worker: keeps every worker busy while the main process writes
_DUMP_OPTIONS = orjson.OPT_APPEND_NEWLINE


@dataclass(frozen=True)
class MappedBytes:
    """The output of one group of lines: events, rejects and bespoke rows as JSON lines, and its counts."""

    events: bytes
    rejects: bytes
    bespoke: bytes
    counts: MapCounts


def _dump(obj: Any) -> bytes:
    """One JSON line, byte for byte what ``report.dumps_line`` writes."""
    return orjson.dumps(obj, default=str, option=_DUMP_OPTIONS)


def map_lines(mapper: Any, lines: LineBatch, name: str, counts: MapCounts, fixed_now: datetime | None, *, rejects: bool = True, bespoke: bool = True) -> tuple[bytes, bytes, bytes]:
    """Map ``lines`` in batches of :data:`BATCH_LINES`, count them into ``counts``; return (events, rejects, bespoke) bytes.

    The output is what mapping line by line with ``iter_jsonl`` and ``Mapper.map_record`` gives;
    tests/engine/test_fast_path_cli.py checks it. ``rejects``/``bespoke`` false skip encoding those.
    """
    run = mapper.map_many
    dumps = orjson.dumps
    now = fixed_now
    out: list[bytes] = []
    bad: list[bytes] = []
    rows: list[bytes] = []
    DST_LOG.take()  # counts left by anything else in this process are not this batch's
    for start in range(0, len(lines), BATCH_LINES):
        part = lines[start : start + BATCH_LINES]
        if fixed_now is None:  # the skew guard needs seconds, not microseconds: once per batch
            now = datetime.now(UTC)
        payloads, sources, slots = decode_lines(part, name)
        results = iter(run(payloads, now=now, sources=sources))
        decoded = iter(zip(payloads, sources, strict=True))
        for slot in slots:
            if slot is not None:
                rejection, raw = slot
                counts.add_undecodable(rejection)
                if rejects:
                    bad.append(_dump({"source": rejection.source, "rejections": [rejection.to_dict()], "raw": raw.decode("utf-8", "replace")}))
                continue
            result = next(results)
            payload, where = next(decoded)
            counts.add(result)
            for event in result.events:
                out.append(dumps(event.to_dict(), default=str, option=_DUMP_OPTIONS))
            if result.rejections and rejects:
                bad.append(_dump({"source": where, "rejections": [r.to_dict() for r in result.rejections], "payload": payload}))
            if result.bespoke and bespoke:
                rows.extend(_dump(row.to_dict()) for row in result.bespoke)
    counts.dst.update(DST_LOG.take())  # the batch's DST decisions (this process's log)
    return b"".join(out), b"".join(bad), b"".join(rows)


def resolve_workers(workers: int) -> int:
    """The number of processes ``--workers N`` asks for: N itself, or one per CPU for 0."""
    if workers < 0:
        raise ValueError(f"workers must be 0 (one per CPU) or more, not {workers}")
    if workers == 0:
        return usable_cpus()
    return workers


def auto_workers(input_path: str | None) -> int:
    """What ``--workers auto`` means for this input: one per CPU for a regular file of AUTO_MIN_BYTES or more, else 1.

    A pipe (stdin) has no size to judge by, so it stays in one process; so does a machine with one CPU.
    """
    if not input_path or input_path == "-":
        return 1
    try:
        info = os.stat(input_path)
    except OSError:
        return 1  # opening it will say what is wrong
    if not stat.S_ISREG(info.st_mode) or info.st_size < AUTO_MIN_BYTES:
        return 1
    return resolve_workers(0)


# A worker process's state, set once by _init_worker: the compiled mapping and the run's settings.
_WORKER: dict[str, Any] = {}


def _init_worker(make_mapper: Callable[[], Any], name: str, fixed_now: datetime | None, rejects: bool, bespoke: bool) -> None:
    """Compile the mapping once per worker process (the compiled form holds generated code: not picklable).

    ``make_mapper`` comes from the application edge (a picklable ``functools.partial`` of
    :func:`ebi_mapper.app.load_mapper`): the engine never loads plugins itself.
    """
    _WORKER.update(mapper=make_mapper(), name=name, fixed_now=fixed_now, rejects=rejects, bespoke=bespoke)
    # As in the main process: the long-lived compiled mapping out of the cyclic GC's sight.
    gc.collect()
    gc.freeze()


def _map_group(lines: LineBatch) -> MappedBytes:
    """A worker's task: one group of lines to its output bytes and counts."""
    counts = MapCounts()
    w = _WORKER
    events, rejects, bespoke = map_lines(w["mapper"], lines, w["name"], counts, w["fixed_now"], rejects=w["rejects"], bespoke=w["bespoke"])
    return MappedBytes(events, rejects, bespoke, counts)


def _groups(batches: Iterable[LineBatch], size: int) -> Iterator[LineBatch]:
    """Join the reader's batches into groups of at least ``size`` lines (the last may be smaller)."""
    group: LineBatch = []
    for batch in batches:
        group.extend(batch)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def map_in_workers(
    batches: Iterable[LineBatch],
    make_mapper: Callable[[], Any],
    workers: int,
    name: str,
    fixed_now: datetime | None,
    *,
    rejects: bool = True,
    bespoke: bool = True,
    group_lines: int = GROUP_LINES,
) -> Iterator[MappedBytes]:
    """Map ``batches`` in ``workers`` processes; yield each group's result in input order.

    Each process calls ``make_mapper()`` once (picklable: a ``functools.partial`` of
    :func:`ebi_mapper.app.load_mapper` with the run's path and disabled plugins).

    At most ``3 * workers`` groups are in flight, so memory does not grow with the input.
    """
    # spawn, not fork: the parent may hold threads and locks (a fork would copy them mid-use).
    context = multiprocessing.get_context("spawn")
    pending: deque[Future] = deque()
    limit = max(1, workers) * _IN_FLIGHT_PER_WORKER
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(make_mapper, name, fixed_now, rejects, bespoke)) as pool:
        try:
            for group in _groups(batches, group_lines):
                pending.append(pool.submit(_map_group, group))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            # On an error or an abandoned generator: do not map what nobody will write.
            for future in pending:
                future.cancel()
