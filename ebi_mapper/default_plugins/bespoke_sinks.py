"""Sinks for bespoke (non-OOTB) attributes: Data Studio CSV files and an API Attributes endpoint.

Both receive :meth:`BespokeRow.to_dict` dicts: ``{"customer", "timestamp", "attributes", "rule"}``.

``data_studio`` keeps, per UTC day of the rows' timestamps, the latest value of every attribute
of every customer (latest by the row's timestamp, so an old row re-sent after a newer one does
not win; equal timestamps: the later arrival wins) and writes it as
``<client>-bespoke-YYYY-MM-DD.csv``: a ``customer_id`` column plus one column per attribute.

Durability: every batch is appended to a hidden journal beside the CSV
(``.<client>-bespoke-YYYY-MM-DD.journal.jsonl``) and fsynced before the sink answers ``ok``;
the CSV (and a compacted journal) is rewritten atomically (temp file + rename) on ``flush()``,
on ``close()`` and at most every ``flush_seconds`` while rows arrive. A restarted run replays
the journal of a day before adding to it, so an acknowledged row is never lost. Memory: one
dict per open day (customers × attributes of that day); at most ``max_open_days`` days are kept
open, the least recently touched is flushed and dropped first.

CSV injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
(and is not a plain number) gets a leading ``'`` so a spreadsheet shows it as text instead of
running it as a formula (OWASP's advice). The quote becomes part of the value Data Studio sees;
turn it off with ``escape_formulas: false`` when the files only ever go to Data Studio.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import DeliveryError
from ..extensions import SendResult
from .http_sink import HttpJsonSink

__all__ = ["DataStudioSink", "make_api_attributes_sink", "csv_cell", "api_attribute_rows"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def csv_cell(value: Any, *, escape_formulas: bool = True) -> str:
    """One attribute value as CSV text: empty for null, ``true``/``false``, numbers as written, JSON for objects."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        return repr(value)  # numbers are never formulas and keep their sign
    elif isinstance(value, str):
        text = value
    else:
        text = orjson.dumps(value).decode()
    if escape_formulas and text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        text = "'" + text
    return text


def _utc_key(timestamp: Any) -> datetime | None:
    """The row's time as an aware UTC datetime (``None`` if it is not an ISO 8601 time with a zone)."""
    if not isinstance(timestamp, str):
        return None
    try:
        when = datetime.fromisoformat(timestamp.replace("z", "Z"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC)


class _Day:
    """The latest attributes of every customer for one UTC day, with its journal."""

    def __init__(self, csv_path: Path, journal_path: Path) -> None:
        self.csv_path = csv_path
        self.journal_path = journal_path
        self.values: dict[str, dict[str, tuple[str, Any]]] = {}  # customer -> name -> (utc iso, value)
        self.dirty = False
        self._load()
        self.journal: IO[bytes] = open(journal_path, "ab")

    def _load(self) -> None:
        if not self.journal_path.exists():
            return
        data = self.journal_path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            # A torn last line from a crash mid-write: it was never acknowledged, drop it so the
            # next append starts on a fresh line.
            with open(self.journal_path, "r+b") as f:
                f.truncate(end)
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            entry = orjson.loads(line)
            if "v" in entry:  # compacted: {"c": customer, "v": {name: [ts, value]}}
                for name, (ts, value) in entry["v"].items():
                    self.merge(entry["c"], ts, {name: value})
            else:  # appended row: {"c": customer, "t": ts, "a": attributes}
                self.merge(entry["c"], entry["t"], entry["a"])
        self.dirty = True  # the CSV may be older than the journal (a crash before a flush)

    def merge(self, customer: str, ts: str, attributes: dict[str, Any]) -> None:
        current = self.values.setdefault(customer, {})
        for name, value in attributes.items():
            old = current.get(name)
            if old is None or ts >= old[0]:
                current[name] = (ts, value)
        self.dirty = True

    def append(self, lines: bytes, fsync: bool) -> None:
        self.journal.write(lines)
        self.journal.flush()
        if fsync:
            os.fsync(self.journal.fileno())

    def write(self, customer_column: str, escape_formulas: bool) -> None:
        """Rewrite the CSV and the compacted journal atomically."""
        names = sorted({name for attrs in self.values.values() for name in attrs})
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([customer_column] + [csv_cell(n, escape_formulas=escape_formulas) for n in names])
        compact = []
        for customer in sorted(self.values):
            attrs = self.values[customer]
            row = [csv_cell(customer, escape_formulas=escape_formulas)]
            row += [csv_cell(attrs[n][1], escape_formulas=escape_formulas) if n in attrs else "" for n in names]
            writer.writerow(row)
            compact.append(orjson.dumps({"c": customer, "v": {n: list(tv) for n, tv in attrs.items()}}) + b"\n")
        _atomic_write(self.csv_path, buf.getvalue().encode("utf-8"))
        self.journal.close()
        _atomic_write(self.journal_path, b"".join(compact))
        self.journal = open(self.journal_path, "ab")
        self.dirty = False

    def close(self) -> None:
        self.journal.close()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class DataStudioSink:
    """Writes the latest bespoke attributes per customer as one CSV file per UTC day."""

    def __init__(self, out_dir: str | Path, *, client: str = "ebi", customer_column: str = "customer_id",
                 escape_formulas: bool = True, flush_seconds: float = 5.0, max_open_days: int = 3,
                 fsync: bool = True) -> None:
        if not _SAFE_NAME.match(client):
            raise DeliveryError(f"sink 'data_studio': client {client!r} cannot be part of a file name "
                                f"(letters, digits, '.', '_', '-')")
        if max_open_days < 1:
            raise DeliveryError("sink 'data_studio': max_open_days must be at least 1")
        self.out_dir = Path(out_dir)
        self.client = client
        self.customer_column = customer_column
        self.escape_formulas = escape_formulas
        self.flush_seconds = flush_seconds
        self.max_open_days = max_open_days
        self.fsync = fsync
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"sink 'data_studio': cannot create {str(self.out_dir)!r}: {exc.strerror or exc}") from exc
        self._days: OrderedDict[str, _Day] = OrderedDict()
        self._last_flush = time.monotonic()
        self._closed = False

    def __repr__(self) -> str:
        return f"DataStudioSink(out_dir={str(self.out_dir)!r}, client={self.client!r})"

    def file_for(self, day: str) -> Path:
        """The CSV path of a UTC day (``YYYY-MM-DD``)."""
        return self.out_dir / f"{self.client}-bespoke-{day}.csv"

    def _day(self, day: str) -> _Day:
        state = self._days.get(day)
        if state is None:
            state = _Day(self.file_for(day), self.out_dir / f".{self.client}-bespoke-{day}.journal.jsonl")
            self._days[day] = state
            while len(self._days) > self.max_open_days:
                _, oldest = self._days.popitem(last=False)
                if oldest.dirty:
                    oldest.write(self.customer_column, self.escape_formulas)
                oldest.close()
        else:
            self._days.move_to_end(day)
        return state

    def send(self, batch: list[dict]) -> SendResult:
        """Record the rows (journal fsynced before ``ok``); a malformed row is ``rejected`` by index."""
        if self._closed:
            raise DeliveryError("sink 'data_studio' is closed")
        parsed: list[tuple[str, str, str, dict]] = []
        for i, row in enumerate(batch):
            problem, item = self._parse(row)
            if problem:
                return SendResult("rejected", reason=problem, rejected_index=i)
            parsed.append(item)
        by_day: dict[str, list[bytes]] = {}
        for day, customer, ts, attrs in parsed:
            by_day.setdefault(day, []).append(orjson.dumps({"c": customer, "t": ts, "a": attrs}) + b"\n")
        try:
            for day, lines in by_day.items():
                self._day(day).append(b"".join(lines), self.fsync)
        except OSError as exc:
            return SendResult("retry", reason=f"journal write failed: {exc.strerror or exc}")
        for day, customer, ts, attrs in parsed:
            self._day(day).merge(customer, ts, attrs)  # idempotent if the day was reloaded from its journal
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        return SendResult("ok")

    def _parse(self, row: Any) -> tuple[str, Any]:
        if not isinstance(row, dict):
            return "a bespoke row must be an object", None
        customer = row.get("customer")
        if isinstance(customer, (int, float)) and not isinstance(customer, bool):
            customer = str(customer)
        if not isinstance(customer, str) or not customer:
            return "bespoke row has no customer", None
        when = _utc_key(row.get("timestamp"))
        if when is None:
            return f"bespoke row timestamp {row.get('timestamp')!r} is not ISO 8601 with a zone", None
        attrs = row.get("attributes")
        if not isinstance(attrs, dict) or not attrs:
            return "bespoke row has no attributes", None
        if self.customer_column in attrs:
            return f"attribute {self.customer_column!r} clashes with the customer id column", None
        ts = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # fixed width, so text order is time order
        return "", (when.strftime("%Y-%m-%d"), customer, ts, attrs)

    def flush(self) -> None:
        """Rewrite the CSV of every day changed since the last flush."""
        for state in self._days.values():
            if state.dirty:
                state.write(self.customer_column, self.escape_formulas)
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close every open day; idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            for state in self._days.values():
                state.close()
            self._days.clear()


def api_attribute_rows(batch: list[dict]) -> tuple[list[dict], SendResult | None]:
    """The request body for an API Attributes endpoint: rows without the mapping's rule name."""
    return [{k: row[k] for k in ("customer", "timestamp", "attributes") if k in row} for row in batch], None


def make_api_attributes_sink(*, url: str, token: str | None, token_env: str | None, auth_header: str,
                             timeout: float, trust_env: bool = True) -> HttpJsonSink:
    """An HTTP sink that POSTs bespoke rows as a JSON array, with the optimove sink's response mapping."""
    return HttpJsonSink(name="api_attributes", url=url, token=token, token_env=token_env,
                        auth_header=auth_header, timeout=timeout, trust_env=trust_env, prepare=api_attribute_rows)
