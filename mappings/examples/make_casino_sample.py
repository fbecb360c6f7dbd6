"""Write ``casino.jsonl``: the demo input for ``casino.yaml``, the same bytes on every run.

The stream imitates the casino's event bus between June and October 2026: sign-ups and profile
updates (the rate class limited to 50 requests / 10 s), deposits and withdrawals timed in epoch
seconds, game sessions timed in epoch milliseconds with their rounds, and aggregator heartbeats
that no rule takes. About 2% of the lines are bad on purpose, so a demo run shows every kind of
outcome: malformed JSON, wrong types, a missing mandatory field, unknown currencies, events from
before go-live. A few lines are re-sends of the same primary key (identical, and once with a
corrected amount), which ``map`` passes through and ``run``'s dedup settles.

    python mappings/examples/make_casino_sample.py            # rewrites casino.jsonl beside this file
    python mappings/examples/make_casino_sample.py OUT.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["SEED", "make_lines", "main"]

SEED = 20261201
_START = int(datetime(2026, 6, 1, 0, 5, tzinfo=UTC).timestamp())  # just after go-live
_END = int(datetime(2026, 10, 31, 23, 0, tzinfo=UTC).timestamp())
_BEFORE_GO_LIVE = int(datetime(2026, 5, 28, 18, 0, tzinfo=UTC).timestamp())

_FIRST = ["Jonas", "Lena", "Mia", "Paul", "Sofia", "Luca", "Emma", "Noah", "Anna", "Ben", "Clara", "Elias"]
_LAST = ["Weber", "Schmidt", "Rossi", "Virtanen", "Novak", "Meyer", "Fischer", "Bauer", "Kowalski", "Lindqvist"]
_COUNTRIES = [("DE", "de"), ("AT", "de"), ("FI", "fi"), ("IE", "en"), ("NO", "no"), ("SE", "sv")]
_GAMES = [
    (2231, "Starburst", "slots"),
    (2240, "Book of Dead", "slots"),
    ("pragmatic-sweetbonanza", "Sweet Bonanza", "slots"),
    (3105, "Lightning Roulette", "live"),
    (3110, "Infinite Blackjack", "live"),
    (4001, "European Roulette", "table"),
    (5012, "Mega Moolah", "jackpot"),
]
_LOBBY = ["popular", "new", "jackpots", "live-casino", "search", "favourites"]
_METHODS = ["visa", "mastercard", "paysafecard", "trustly", "skrill", "apple_pay"]
_BETS = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
_MULTIPLIERS = [0, 0, 0, 0, 0, 0.5, 1, 1.5, 2, 3, 10]


def _money(value: float) -> float:
    return round(value + 1e-9, 2)


def _player(rng: random.Random, number: int, ts_ms: int) -> dict:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    country, lang = rng.choice(_COUNTRIES)
    return {
        "id": f"LR-{10000 + number}",
        "email": f"{first}.{last}{number}@example.com".lower(),
        "consents": {"email": rng.random() < 0.7, "sms": rng.random() < 0.4, "push": rng.random() < 0.5},
        "phone": f"+49151{rng.randrange(10_000_000, 99_999_999)}",
        "nickname": f"{first.lower()}_{number}",
        "first_name": first,
        "last_name": last,
        "birth_date": f"{rng.randrange(1960, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "gender": rng.choice(["male", "female", "unknown"]),
        "city": rng.choice(["Hamburg", "Vienna", "Helsinki", "Cork", "Bergen", "Malmo"]),
        "country": country,
        "lang": lang,
        "currency": "EUR",
        "affiliate_id": rng.choice([None, "4471", "5120", "7302"]),
        "affiliate_type": "affiliate",
        "bonus_code": rng.choice([None, "REELS50", "SPIN20"]),
        "os": rng.choice(["android", "ios", "windows", "macos"]),
        "jurisdiction": "MGA",
        "signup_page": rng.choice(["/welcome", "/welcome/reels50", "/landing/spin20"]),
        "email_verified": False,
        "blocked": False,
        "is_test": number % 40 == 0,
    }


def _registration(player: dict, ts_ms: int) -> dict:
    body = {k: v for k, v in player.items() if v is not None}
    return {"event": "player_registered", "ts": ts_ms, "operator": "LuckyReels", "player": body}


def _update(rng: random.Random, player: dict, ts_ms: int) -> dict:
    change = rng.choice(["verify", "consent", "phone_removed", "city"])
    body = {"id": player["id"], "email": player["email"], "consents": dict(player["consents"]), "currency": "EUR"}
    if change == "verify":
        body["email_verified"] = True
    elif change == "consent":
        body["consents"]["email"] = not body["consents"]["email"]
    elif change == "phone_removed":
        body["phone"] = None
    else:
        body["city"] = rng.choice(["Berlin", "Graz", "Espoo", "Galway"])
    return {"event": "player_updated", "ts": ts_ms, "operator": "LuckyReels", "player": body}


def _payment(rng: random.Random, player: dict, kind: str, pay_id: int, ts_s: int, amount: float, balance: float, state: str) -> dict:
    return {
        "event": "payment",
        "ts": ts_s * 1000 + rng.randrange(0, 1000),
        "operator": "LuckyReels",
        "player": {"id": player["id"], "country": player["country"], "lang": player["lang"], "jurisdiction": "MGA"},
        "payment": {
            "id": pay_id,
            "kind": kind,
            "state": state,
            "created": ts_s,
            "amount": amount,
            "currency": "EUR",
            "balance_before": balance,
            "method": rng.choice(_METHODS) if kind == "deposit" else "sepa",
            "device": rng.choice(["mobile", "web"]),
            "os": player["os"],
        },
    }


def _session(rng: random.Random, player: dict, session_no: int, opened_ms: int, balance: float) -> tuple[dict, float]:
    code, title, kind = rng.choice(_GAMES)
    rounds, now_ms, bal = [], opened_ms, balance
    for r in range(rng.randrange(1, 30)):
        bet = min(rng.choice(_BETS), bal) if bal > 0 else 0.1
        bet = _money(bet) or 0.1
        win = _money(bet * rng.choice(_MULTIPLIERS))
        bonus_bet = 0.5 if r == 0 and rng.random() < 0.1 else 0
        bonus_win = _money(bonus_bet * rng.choice([0, 0, 2, 4]))
        rounds.append({"round_id": f"r-{session_no}-{r + 1}", "bet": bet, "win": win, "bonus_bet": bonus_bet, "bonus_win": bonus_win})
        bal = _money(bal - bet + win + bonus_win)
        now_ms += rng.randrange(4_000, 40_000)
    session = {
        "id": f"gs-{session_no}",
        "game": {"id": code, "title": title, "provider": "various", "type": kind},
        "opened_ms": opened_ms,
        "closed_ms": now_ms,
        "balance_open": _money(balance),
        "balance_close": bal,
        "device": rng.choice(["mobile", "web"]),
        "os": player["os"],
        "lobby": {"section": rng.choice(_LOBBY), "slot": rng.randrange(1, 25)},
        "rounds": rounds,
    }
    message = {
        "event": "session_closed",
        "ts": now_ms + rng.randrange(50, 900),
        "operator": "LuckyReels",
        "player": {"id": player["id"], "currency": "EUR", "country": player["country"], "lang": player["lang"], "jurisdiction": "MGA"},
        "session": session,
    }
    return message, bal


def _good_messages(rng: random.Random) -> list[tuple[int, dict]]:
    """(sort time in ms, message) for a plausible stream of 75 players' activity."""
    out: list[tuple[int, dict]] = []
    pay_id, session_no = 99_100_000, 80_000
    for number in range(1, 76):
        signup_s = rng.randrange(_START, _END - 40 * 86_400)
        player = _player(rng, number, signup_s * 1000)
        out.append((signup_s * 1000, _registration(player, signup_s * 1000)))
        t, balance = signup_s + rng.randrange(60, 3_600), 0.0
        if rng.random() < 0.35:
            out.append(((t + 30) * 1000, _update(rng, player, (t + 30) * 1000)))
        for _ in range(rng.randrange(1, 4)):
            pay_id += 1
            amount = float(rng.choice([10, 20, 25, 50, 100]))
            if rng.random() < 0.1:  # a pending deposit: no rule takes it
                out.append((t * 1000, _payment(rng, player, "deposit", pay_id, t, amount, balance, "pending")))
                pay_id += 1
            out.append((t * 1000, _payment(rng, player, "deposit", pay_id, t, amount, _money(balance), "done")))
            balance += amount
            for _ in range(rng.randrange(0, 3)):
                session_no += 1
                t += rng.randrange(120, 7_200)
                message, balance = _session(rng, player, session_no, t * 1000, balance)
                out.append((message["session"]["closed_ms"], message))
                t = message["session"]["closed_ms"] // 1000 + rng.randrange(60, 600)
            t += rng.randrange(3_600, 5 * 86_400)
        if balance > 20 and rng.random() < 0.4:
            pay_id += 1
            out.append((t * 1000, _payment(rng, player, "withdrawal", pay_id, t, _money(balance * 0.8), _money(balance), "requested")))
    for _ in range(10):
        ts_ms = rng.randrange(_START, _END) * 1000
        out.append((ts_ms, {"event": "heartbeat", "ts": ts_ms, "node": rng.choice(["agg-eu-1", "agg-eu-2"])}))
    return out


def _dump(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def make_lines(seed: int = SEED) -> list[str]:
    """The sample's lines (without newlines), chronological, with the deliberate bad lines mixed in."""
    rng = random.Random(seed)
    good = _good_messages(rng)
    good.sort(key=lambda pair: pair[0])
    lines = [_dump(m) for _, m in good]
    payments = [m for _, m in good if m["event"] == "payment" and m["payment"]["state"] == "done"]
    sessions = [m for _, m in good if m["event"] == "session_closed"]
    player = payments[0]["player"]

    def bad_payment(**change) -> dict:
        message = json.loads(_dump(rng.choice(payments)))
        message["payment"].update(change)
        return message

    def bad_session(**change) -> dict:
        message = json.loads(_dump(rng.choice(sessions)))
        message["session"].update(change)
        return message

    extras = [
        # malformed JSON: a truncated line and a line with a trailing comma
        _dump(rng.choice(payments))[:-25],
        _dump({"event": "heartbeat", "ts": 1784111430123})[:-1] + ",}",
        # wrong types: an amount with a decimal comma, a round's bet as a string, a customer id as an object
        _dump(bad_payment(id=99_199_001, amount="12,50")),
        _dump(bad_session(id="gs-99001", rounds=[{"bet": 1, "win": 0}, {"bet": "1.00", "win": 0}])),
        _dump({**rng.choice(payments), "player": {"id": {"ref": "LR-10001"}}}),
        # a missing mandatory field: a session whose game has no id
        _dump(bad_session(id="gs-99002", game={"title": "Unknown game"})),
        # unknown currencies
        _dump(bad_payment(id=99_199_002, currency="XBT", amount=0.0012)),
        _dump(bad_payment(id=99_199_003, currency="EURO")),
        # before go-live (the operator's test traffic in late May)
        _dump(_registration({**player, "email": "qa@example.com", "consents": {"email": False}}, _BEFORE_GO_LIVE * 1000)),
        _dump(bad_session(id="gs-79999", opened_ms=_BEFORE_GO_LIVE * 1000, closed_ms=_BEFORE_GO_LIVE * 1000 + 600_000)),
    ]
    resends = [
        # the same primary key again: three identical re-sends and one corrected amount
        _dump(payments[3]),
        _dump(payments[10]),
        _dump(sessions[7]),
        _dump({**payments[20], "payment": {**payments[20]["payment"], "amount": payments[20]["payment"]["amount"] + 5}}),
    ]
    for text in extras + resends:
        lines.insert(rng.randrange(1, len(lines)), text)
    return lines


def main(argv: list[str] | None = None) -> int:
    """Write the sample to the path given, or to ``casino.jsonl`` beside this script."""
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).with_name("casino.jsonl")
    out.write_text("\n".join(make_lines()) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
