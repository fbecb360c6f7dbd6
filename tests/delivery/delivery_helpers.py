"""Helpers shared by the delivery tests (imported by name: a module called conftest is ambiguous across folders).

Shared pieces of the delivery tests: the test mapping, a mixed-input generator, sink doubles."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import orjson

from ebi_mapper.extensions import SendResult

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "casino.yaml"


def sportsbook_mapping(*, extra: str = "", version: str = "") -> str:
    """The sportsbook test mapping (versioned settlements, signups, profile updates) as YAML text.

    ``extra``: top-level keys added (e.g. ``source_timezone: Europe/Berlin``); ``version``: a
    ``version:`` line for the profile-update rule.
    """
    return (DATA / "sportsbook-versions.yaml.in").read_text(encoding="utf-8").format(extra=extra, version=version)


AT = "2025-03-01T12:00:00Z"

# kind -> weight. Every kind has one known outcome, so expected counts follow from the kinds drawn.
KINDS = {
    "deposit": 30, "duplicate": 6, "update": 6, "signup": 8, "profile": 8, "bet": 10, "vip": 6,
    "bad_amount": 6, "pre_go_live": 5, "no_rule": 5, "malformed": 3,
}
OUTCOME = {
    "deposit": "delivered", "update": "delivered", "signup": "delivered", "profile": "delivered", "bet": "delivered",
    "vip": "delivered", "duplicate": "duplicate", "bad_amount": "rejected", "malformed": "rejected",
    "pre_go_live": "filtered", "no_rule": "filtered",
}


def write_mixed(path: Path, n: int, *, seed: int = 1, kinds: dict[str, int] | None = None) -> dict:
    """Write ``n`` mixed JSON lines; return the expected record outcomes and distinct PKs."""
    rng = random.Random(seed)
    weights = kinds or KINDS
    names, w = list(weights), list(weights.values())
    deposits: list[dict] = []
    drawn: Counter = Counter()
    pks = set()
    with open(path, "wb") as fh:
        for i in range(n):
            kind = rng.choices(names, w)[0]
            if kind in ("duplicate", "update") and not deposits:
                kind = "deposit"
            drawn[kind] += 1
            if kind == "deposit":
                p = {"type": "deposit", "player": rng.randrange(1000), "tx": f"tx{i}", "amount": rng.randrange(1, 500),
                     "currency": "EUR", "at": AT}
                deposits.append(p)
                pks.add(("ootb_deposit", p["tx"]))
            elif kind == "duplicate":
                p = rng.choice(deposits)
            elif kind == "update":
                k = rng.randrange(len(deposits))
                # The latest content of each PK is kept, so a later "duplicate" is really identical.
                p = deposits[k] = dict(deposits[k], amount=rng.randrange(1000, 2000) + i)
            elif kind in ("signup", "profile"):
                p = {"type": kind, "player": f"{kind}-{i}", "email": f"p{i}@example.com", "at": AT}
                pks.add((kind, p["player"]))
            elif kind == "bet":
                p = {"type": "bet", "player": rng.randrange(1000), "tx": f"bet{i}", "at": AT}
                pks.add(("bet", p["tx"]))
            elif kind == "vip":
                p = {"type": "vip", "player": f"vip-{i}", "tier": rng.choice(["gold", "silver"]), "at": AT}
            elif kind == "bad_amount":
                p = {"type": "deposit", "player": 1, "tx": f"bad{i}", "amount": "lots", "currency": "EUR", "at": AT}
            elif kind == "pre_go_live":
                p = {"type": "deposit", "player": 1, "tx": f"old{i}", "amount": 5, "currency": "EUR", "at": "2020-01-01T00:00:00Z"}
            elif kind == "no_rule":
                p = {"type": "noise", "i": i}
            else:
                fh.write(b'{"type": "deposit", oops\n')
                continue
            fh.write(orjson.dumps(p) + b"\n")
    outcomes: Counter = Counter()
    for kind, count in drawn.items():
        outcomes[OUTCOME[kind]] += count
    return {"records": n, "outcomes": dict(outcomes), "drawn": dict(drawn), "event_pks": len(pks),
            "bespoke_rows": drawn["vip"]}


class RecordingSink:
    """A sink double that accepts everything and remembers each batch."""

    def __init__(self):
        self.batches: list[list[dict]] = []
        self.lock = threading.Lock()
        self.closed = False

    def send(self, batch):
        with self.lock:
            self.batches.append(list(batch))
        return SendResult("ok")

    def close(self):
        self.closed = True


class ScriptedSink(RecordingSink):
    """A sink double whose answer per batch comes from ``script(batch, call_no) -> SendResult``."""

    def __init__(self, script):
        super().__init__()
        self.script = script
        self.calls = 0
        self.accepted: list[dict] = []

    def send(self, batch):
        with self.lock:
            self.calls += 1
            n = self.calls
            self.batches.append(list(batch))
        result = self.script(batch, n)
        if result.status == "ok":
            with self.lock:
                self.accepted.extend(batch)
        return result


def reached(records, outcome):
    """The count of records ``write_mixed`` expects in ``outcome``: one it calls delivered ends
    delivered, or superseded when a newer version of its PK in the same input replaced all its events."""
    return records["delivered"] + records["superseded"] if outcome == "delivered" else records[outcome]
