"""The dedup part of the state store: per PK, the content last committed and last acknowledged,
the highest source version, and the last known profile of a customer.

Why a module of its own: deciding new / update / duplicate is the hot path of ingest and has its
own guarantees (docs/delivery.md, "Two versions of one PK"). Proven by
tests/delivery/test_state.py (``test_dedup_new_duplicate_update``, ``test_dedup_forget_*``) and
tests/delivery/test_group_commit.py::test_batched_dedup_decides_as_one_unit_at_a_time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..errors import StateError
from .state_base import StoreBase
from .state_records import IN_BATCH

__all__ = ["DedupStore"]


class DedupStore(StoreBase):
    """Dedup entries, source versions and known profiles."""

    # dedup_decide_many(..., write=False)'s decisions until dedup_write_decided: (known, newest, now)
    _decided: tuple[dict[bytes, list[Any]], float | None, float] | None

    # -- dedup -------------------------------------------------------------------------------
    def dedup_decide(self, pk: bytes, content: bytes, now: float, seen: float | None = None) -> str:
        """Record ``content`` for ``pk`` and say what it is: ``new``, ``update`` or ``duplicate``.

        One unit of :meth:`dedup_decide_many` (which see).
        """
        return self.dedup_decide_many([(pk, content, now if seen is None else seen)], now)[0]

    def dedup_decide_many(self, units: list[tuple[bytes, bytes, float]], now: float,
                          after: dict[bytes, tuple[bytes, bytes | None]] | None = None, *, write: bool = True) -> list[str]:
        """Decide ``(pk_hash, content_hash, seen)`` units in order: ``new``, ``update`` or ``duplicate`` each.

        Compared with the content last committed for the PK (whether or not it was sent yet), so
        reading the same input again after a crash gives ``duplicate``, never a second send. Units
        of one PK inside the list are decided one after the other, exactly as if each had its own
        call. ``seen`` is the feed's time of the sighting (the event's timestamp): the PK's
        ``last_seen`` moves up to it, which is what retention expires by. A constant number of
        statements for the whole list (one lookup per 500 PKs, one ``executemany`` per kind of
        write), so the cost per record does not depend on the chunk or on the table's size.

        ``after``, if given, receives what :meth:`dedup_get_many` would answer for these PKs once
        the decisions are written (the direct path reads it instead of asking again). With
        ``write=False`` nothing is written yet: :meth:`dedup_write_decided` writes it, in the same
        transaction, before any other dedup call (the direct path, which learns in between which
        of them the sink acknowledged).
        """
        self._require_txn()
        known: dict[bytes, list] = {}  # pk -> [content, last_seen, existed, changed, sent]
        distinct = list(dict.fromkeys(u[0] for u in units))
        for start in range(0, len(distinct), IN_BATCH):
            part = distinct[start:start + IN_BATCH]
            sql = f"SELECT pk_hash, content_hash, last_seen, sent_hash FROM dedup WHERE pk_hash IN ({','.join('?' * len(part))})"
            for pk, content, last_seen, sent in self._exec(sql, part).fetchall():
                known[pk] = [content, last_seen, True, False, sent]
        decisions = []
        newest = None
        for pk, content, seen in units:
            newest = seen if newest is None or seen > newest else newest
            entry = known.get(pk)
            if entry is None:
                known[pk] = [content, seen, False, True, None]
                decisions.append("new")
                continue
            if seen > entry[1]:
                entry[1] = seen
                entry[3] = True
            if entry[0] == content:
                decisions.append("duplicate")
            else:
                entry[0] = content
                entry[3] = True
                decisions.append("update")
        if after is not None:
            after.update((pk, (e[0], e[4])) for pk, e in known.items())
        if write:
            self._write_decided(known, newest, now, {})
        else:
            self._decided = (known, newest, now)
        return decisions

    def dedup_write_decided(self, sent: Mapping[bytes, bytes]) -> None:
        """Write the decisions of the last ``dedup_decide_many(..., write=False)``, ``sent`` PKs already acknowledged.

        ``sent``: ``{pk_hash: content_hash}`` the sink acknowledged since (the direct path): each
        entry is written once, with its acknowledgement, instead of written and then updated.
        """
        self._require_txn()
        decided, self._decided = self._decided, None
        if decided is None:
            raise StateError("dedup_write_decided without a dedup_decide_many(..., write=False) before it")
        self._write_decided(*decided, sent)

    def _write_decided(self, known: dict[bytes, list], newest: float | None, now: float, sent: Mapping[bytes, bytes]) -> None:
        inserts = [(pk, e[0], now, e[1], sent.get(pk), now if pk in sent else None) for pk, e in known.items() if not e[2]]
        updates = [(e[0], e[1], pk) for pk, e in known.items() if e[2] and e[3]]
        if inserts:
            self._execmany("INSERT INTO dedup (pk_hash, content_hash, first_seen, last_seen, sent_hash, last_sent) VALUES (?, ?, ?, ?, ?, ?)",
                           inserts)
        if updates:
            self._execmany("UPDATE dedup SET content_hash = ?, last_seen = ? WHERE pk_hash = ?", updates)
            acked = [(c, now, pk) for pk, e in known.items() if e[2] and e[3] and (c := sent.get(pk)) is not None]
            if acked:
                self._execmany("UPDATE dedup SET sent_hash = ?, last_sent = ? WHERE pk_hash = ?", acked)
        if newest is not None:
            self._advance_clock(newest)

    def _advance_clock(self, seen: float) -> None:
        # The feed's clock: the latest sighting time committed. Retention counts back from it.
        self._exec("INSERT INTO meta (key, value) VALUES ('feed_clock', ?) ON CONFLICT (key) DO UPDATE SET value = "
                   "CASE WHEN CAST(excluded.value AS REAL) > CAST(value AS REAL) THEN excluded.value ELSE value END", (repr(float(seen)),))

    def feed_clock(self) -> float | None:
        """The latest sighting time committed (the feed's clock), or ``None`` before the first event."""
        row = self._exec("SELECT value FROM meta WHERE key = 'feed_clock'").fetchone()
        return None if row is None else float(row[0])

    def dedup_mark_sent(self, pairs: Iterable[tuple[bytes, bytes]], now: float) -> None:
        """The sink acknowledged these ``(pk_hash, content_hash)`` pairs."""
        self._require_txn()
        self._execmany("UPDATE dedup SET sent_hash = ?, last_sent = ? WHERE pk_hash = ?", [(c, now, p) for p, c in pairs])

    def dedup_forget(self, pk: bytes, content: bytes) -> None:
        """Content ``content`` of ``pk`` was dead-lettered: it no longer counts as sent-or-sending.

        The PK falls back to its last acknowledged content (or is forgotten if none), so replaying
        the same record later sends it instead of calling it a duplicate. A newer content already
        committed for the PK is left alone.
        """
        self._require_txn()
        self._exec("DELETE FROM dedup WHERE pk_hash = ? AND content_hash = ? AND sent_hash IS NULL", (pk, content))
        self._exec("UPDATE dedup SET content_hash = sent_hash WHERE pk_hash = ? AND content_hash = ?", (pk, content))

    # -- source versions and known profiles (delivery/versions.py decides) ---------------------
    def version_get(self, pk: bytes) -> Any:
        """The highest version key committed for ``pk`` (``None``: none yet)."""
        row = self._exec("SELECT version FROM pk_versions WHERE pk_hash = ?", (pk,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def version_put(self, pk: bytes, key: Any, seen: float) -> None:
        """Remember ``key`` as the highest version of ``pk``."""
        self._require_txn()
        self._exec("INSERT INTO pk_versions (pk_hash, version, last_seen) VALUES (?, ?, ?) ON CONFLICT (pk_hash) "
                   "DO UPDATE SET version = excluded.version, last_seen = excluded.last_seen", (pk, orjson.dumps(key), seen))

    def profile_get(self, customer: bytes) -> dict[str, list] | None:
        """The last known profile of a customer: ``{param: [value, version key or None]}``."""
        row = self._exec("SELECT fields FROM profiles WHERE customer_hash = ?", (customer,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def profile_put(self, customer: bytes, fields: Mapping[str, list], seen: float) -> None:
        """Store a customer's profile as now known."""
        self._require_txn()
        self._exec("INSERT INTO profiles (customer_hash, fields, last_seen) VALUES (?, ?, ?) ON CONFLICT (customer_hash) "
                   "DO UPDATE SET fields = excluded.fields, last_seen = excluded.last_seen", (customer, orjson.dumps(dict(fields)), seen))

    def dedup_unknown_at_receiver(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Content ``c`` of PK ``p`` may have been stored by the sink without an acknowledgement.

        The PK's acknowledged content is no longer known (``sent_hash`` → NULL) unless it is
        ``c`` itself, so a later version equal to the earlier acknowledged one is sent again.
        """
        self._require_txn()
        self._execmany("UPDATE dedup SET sent_hash = NULL WHERE pk_hash = ? AND sent_hash IS NOT NULL AND sent_hash != ?",
                       [(p, c) for p, c in pairs])

    def dedup_get(self, pk: bytes) -> tuple[bytes, bytes | None] | None:
        """``(content_hash, sent_hash)`` of ``pk``, or ``None`` if unknown."""
        return self.dedup_get_many([pk]).get(pk)

    def dedup_get_many(self, pks: Iterable[bytes]) -> dict[bytes, tuple[bytes, bytes | None]]:
        """``{pk_hash: (content_hash, sent_hash)}`` of the known ones among ``pks`` (one lookup per 500)."""
        distinct = list(dict.fromkeys(pks))
        found: dict[bytes, tuple[bytes, bytes | None]] = {}
        for start in range(0, len(distinct), IN_BATCH):
            part = distinct[start:start + IN_BATCH]
            sql = f"SELECT pk_hash, content_hash, sent_hash FROM dedup WHERE pk_hash IN ({','.join('?' * len(part))})"
            for pk, content, sent in self._exec(sql, part).fetchall():
                found[pk] = (content, sent)
        return found
