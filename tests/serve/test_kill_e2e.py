"""SIGKILL proof of `serve`: a bounded load generator posts Stripe-signed webhooks (a realistic mix:
deposits, sign-ups, profile updates, versions of one PK, 1% bad) while the test SIGKILLs the
server at random ≥ 10 times and restarts it; the generator retries whatever got no 2xx, as real
senders do. At the end every request that got a 2xx is at the sandbox exactly once with its last
version, or in the DLQ with a reason; the receiver's limits held.

CI size: 2,000 webhooks, 10 kills. ``EBI_MAPPER_KILL_E2E_N=50000`` (and ``..._KILLS``) for the full run.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time

import httpx
import orjson
import pytest

from ebi_mapper.serve.signers import sign_headers

from .serve_helpers import AT, STRIPE_SECRET, ServeProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = int(os.environ.get("EBI_MAPPER_KILL_E2E_N", "2000"))
KILLS = int(os.environ.get("EBI_MAPPER_KILL_E2E_KILLS", "10"))
SENDERS = 8
PATH = "/in/acme/stripe"
PROFILE = (10, 1.0)


def chains(n: int, seed: int = 7) -> list[list[dict]]:
    """Webhooks grouped per PK, in version order: [[v1, v2, ...], ...]; about n in all."""
    rng = random.Random(seed)
    out: list[list[dict]] = []
    i = 0
    while i < n:
        kind = rng.choices(["deposit", "signup", "profile", "bad_amount", "malformed"], [70, 14, 14, 0.5, 0.5])[0]
        if kind == "deposit":
            versions, player = rng.choice([1, 1, 1, 2, 3]), rng.randrange(500)
            chain = [{"type": "deposit", "player": player, "tx": f"tx{i}", "amount": 10 * (v + 1) + rng.randrange(9),
                      "currency": "EUR", "at": AT} for v in range(versions)]
        elif kind in ("signup", "profile"):
            chain = [{"type": kind, "player": f"{kind}-{i}", "email": f"p{i}@example.com", "at": AT}]
        elif kind == "bad_amount":
            chain = [{"type": "deposit", "player": 1, "tx": f"bad{i}", "amount": "lots", "currency": "EUR", "at": AT}]
        else:
            chain = [{"malformed": f"m{i}"}]
        for v, payload in enumerate(chain):
            payload["id"] = f"evt_{i}_{v}"  # Stripe's event id: the webhook id serve dedups on
        out.append(chain)
        i += len(chain)
    return out


def body_of(payload: dict) -> bytes:
    if "malformed" in payload:
        return b'{"type": "deposit", "tx": "' + payload["malformed"].encode() + b'", oops'
    return orjson.dumps(payload)


def signed(body: bytes) -> dict[str, str]:
    """Headers of a Stripe delivery, signed now (a real sender signs each attempt afresh)."""
    return {"content-type": "application/json", **sign_headers("stripe", STRIPE_SECRET, body)}


class Generator:
    def __init__(self, url: str, work: list[list[dict]]):
        self.url = url
        self.work = list(work)
        self.total = len(work)
        self.lock = threading.Lock()
        self.accepted: list[dict] = []  # got a 2xx
        self.refused_400: list[dict] = []
        self.duplicates = 0  # a retry of a request whose 2xx was lost in a kill: the webhook id says so
        self.retries = 0
        self.requests = 0

    def answered(self) -> int:
        """Chains taken so far (a rough progress measure)."""
        with self.lock:
            return self.total - len(self.work)

    def take(self) -> list[dict] | None:
        with self.lock:
            return self.work.pop() if self.work else None

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as c:
            while (chain := self.take()) is not None:
                for payload in chain:  # a PK's versions in order: the next only after a 2xx for this one
                    self.post_until_answered(c, payload)

    def post_until_answered(self, c: httpx.Client, payload: dict) -> None:
        while True:
            try:
                body = body_of(payload)
                r = c.post(PATH, content=body, headers=signed(body))
                with self.lock:
                    self.requests += 1
                if 200 <= r.status_code < 300:
                    with self.lock:
                        self.accepted.append(payload)
                        self.duplicates += r.json()["status"] == "duplicate"
                    return
                if r.status_code == 400:
                    with self.lock:
                        self.refused_400.append(payload)
                    return
                assert r.status_code in (429, 503), (r.status_code, r.text)
            except httpx.HTTPError:
                pass
            with self.lock:
                self.retries += 1
            time.sleep(0.05)


def test_sigkill_at_random_loses_nothing(tmp_path):
    from ebi_mapper.sandbox import start_sandbox

    work = chains(N)
    with start_sandbox(vertical="multi_sport_casino", tenant=567, rate_limits=(("profile", *PROFILE),)) as sandbox:
        extra = ("--limit", f"profile={PROFILE[0]}/{PROFILE[1]:g}s", "--concurrency", "8")
        sp = ServeProcess(tmp_path / "state", sandbox.endpoint, extra=extra).start()
        gen = Generator(sp.url, work)
        threads = [threading.Thread(target=gen.run) for _ in range(SENDERS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        rng = random.Random(11)
        kills = 0
        while kills < KILLS:
            # spread over the whole run: the k-th kill somewhere in the k-th share of the work
            target = len(work) * (kills + rng.random()) / (KILLS + 1)
            while gen.answered() < target and any(t.is_alive() for t in threads):
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))  # at a random moment, mid-request or mid-send
            sp.kill()  # SIGKILL
            kills += 1
            sp.start()
        for t in threads:
            t.join(600)
        total_requests = gen.requests
        # The last version of every PK that got a 2xx, and the bad ones
        last: dict[str, dict] = {}
        bad: set[str] = set()
        for p in gen.accepted:
            if p.get("amount") == "lots":
                bad.add(p["tx"])
            elif p["type"] == "deposit":
                last[f"ootb_deposit:{p['tx']}"] = p
            else:
                last[f"{p['type']}:{p['player']}"] = p
        wait_until(lambda: sandbox.stats()["stored"]["events"] >= len(last), timeout=300, what="every PK at the sandbox")
        time.sleep(0.5)  # nothing more may arrive
        assert sp.stop(signal.SIGTERM) == 143
        elapsed = time.monotonic() - started
        stats = sandbox.stats()
        stored = sandbox.events()
        assert stats["stored"]["events"] == len(last)  # exactly the PKs that got a 2xx, each once
        amounts = {e["data"]["context"]["ootb_transaction_id"]: e["data"]["context"]["ootb_deposit_amount"]
                   for e in stored if e["event"] == "ootb_deposit"}
        for p in last.values():
            if p["type"] == "deposit":
                assert amounts[p["tx"]] == p["amount"], (p, amounts.get(p["tx"]))  # its last version
        assert stats["max_events_per_request"] <= 10
        assert stats["max_profile_requests_per_window"] <= PROFILE[0]
        # the bad ones: every one that got a 2xx is dead-lettered with a reason; refused bodies are kept too
        conn = sqlite3.connect(f"file:{tmp_path / 'state' / 'state.sqlite'}?mode=ro", uri=True)
        letters = conn.execute("SELECT kind, reason, payload FROM dlq").fetchall()
        conn.close()
        lettered = {orjson.loads(pl)["tx"] for kind, _, pl in letters if kind == "mapping"}
        assert bad <= lettered
        assert all(orjson.loads(reason)[0]["message"] for _, reason, _ in letters)
        intake_kept = sum(1 for kind, _, _ in letters if kind == "intake")
        assert intake_kept >= len(gen.refused_400)
        print(f"\nkill e2e: {N} webhooks in {len(work)} PK chains, {total_requests} requests ({gen.retries} retries), "
              f"{kills} SIGKILLs, {len(last)} PKs at the sandbox with their last version, {len(bad)} dead-lettered, "
              f"{len(gen.refused_400)} refused 400 (kept), {gen.duplicates} answered duplicate, {elapsed:.1f}s")
