"""The bench workload: seeded webhook payloads for the five bench mappings (bench/mappings/).

``make_payloads(vertical, n, rng)`` returns ``n`` payloads in the vertical's event mix, of which
``bad_share`` (1% by default) are bad in one of the ways real feeds are bad: an amount that is not
a number, a missing player id, a foreign currency, a garbled time, an unknown webhook type. The
same seed gives the same payloads on every machine. Also used by tests/engine/test_fast_path_*.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = ["VERTICALS", "MIX", "make_payloads"]

VERTICALS = ("multi_sport_casino", "sport", "casino", "sweepstakes", "ecom")

# Share of each webhook type per vertical (bet slips and orders fan out to 1-4 events each).
MIX: dict[str, dict[str, int]] = {
    "multi_sport_casino": {"player.registered": 3, "player.updated": 7, "wallet.deposit": 15, "wallet.withdrawal": 5, "casino.session.closed": 30, "sports.betslip.placed": 20, "sports.betslip.settled": 20},
    "sport": {"player.registered": 3, "player.updated": 7, "wallet.deposit": 15, "wallet.withdrawal": 5, "sports.betslip.placed": 35, "sports.betslip.settled": 35},
    "casino": {"player.registered": 3, "player.updated": 7, "wallet.deposit": 20, "wallet.withdrawal": 5, "casino.session.closed": 65},
    "sweepstakes": {"player.registered": 3, "player.updated": 7, "wallet.deposit": 20, "wallet.withdrawal": 5, "sweeps.session.closed": 65},
    "ecom": {"player.registered": 10, "player.updated": 20, "order.created": 55, "order.refunded": 15},
}

_START = datetime(2026, 6, 1, tzinfo=UTC)
_MALTA_SUMMER = timedelta(hours=2)
_BRANDS = ("AcmeBet", "AcmeSlots", "AcmeSports")
_PLATFORMS = ("web", "ios", "android")
_FIRST = ("Maria", "Joseph", "Anna", "Luca", "Sara", "Mark")
_LAST = ("Borg", "Camilleri", "Vella", "Farrugia", "Zammit", "Grech")
_GAMES = (("starburst", "Starburst", "slots"), ("bj-classic", "Blackjack", "table"), ("roulette-eu", "Roulette", "table"), ("book-of-dead", "Book of Dead", "slots"))


class _Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seq = 0

    def when(self) -> datetime:
        return _START + timedelta(seconds=self.rng.randrange(0, 90 * 86400), microseconds=self.rng.randrange(0, 1000) * 1000)

    def player(self) -> int:
        return self.rng.randrange(100_000, 900_000)

    def money(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 2)

    def envelope(self, kind: str, data: dict) -> dict:
        self.seq += 1
        at = self.when() + _MALTA_SUMMER  # the platform writes Malta wall-clock time
        return {"id": f"wh_{self.seq}", "type": kind, "brand": self.rng.choice(_BRANDS), "occurred_at": at.strftime("%Y-%m-%d %H:%M:%S"), "data": data}

    # -- one generator per webhook type -----------------------------------------------------
    def profile(self, kind: str) -> dict:
        r = self.rng
        first, last = r.choice(_FIRST), r.choice(_LAST)
        data = {
            "player_id": self.player(),
            "email": f"{first.lower()}.{last.lower()}{r.randrange(1000)}@example.com",
            "mobile": f"+3567900{r.randrange(1000, 9999)}",
            "marketing": {"email": r.random() < 0.7, "sms": r.random() < 0.5, "push": r.random() < 0.3},
            "username": f"{first.lower()}{r.randrange(100)}",
            "first_name": first,
            "last_name": last,
            "gender": r.choice(("female", "male")),
            "date_of_birth": f"19{r.randrange(60, 99)}-0{r.randrange(1, 9)}-1{r.randrange(0, 9)}",
            "address": {"city": r.choice(("Sliema", "Valletta", "Mdina")), "country": "MT"},
            "language": "en",
            "currency": "EUR",
            "affiliate_id": r.choice((None, "aff-778", "aff-12")),
            "platform": r.choice(_PLATFORMS),
            "test": False,
        }
        return self.envelope(kind, data)

    def deposit(self) -> dict:
        at = self.when()
        data = {
            "player_id": self.player(),
            "tx_id": f"dep-{self.seq}",
            "processed_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "amount_minor": self.rng.randrange(1000, 50000),
            "balance_before": self.money(0, 500),
            "currency": "EUR",
            "method": self.rng.choice(("card", "bank", "ewallet")),
            "platform": self.rng.choice(_PLATFORMS),
            "country": "MT",
        }
        return self.envelope("wallet.deposit", data)

    def withdrawal(self) -> dict:
        at = self.when()
        data = {
            "player_id": self.player(),
            "tx_id": f"wd-{self.seq}",
            "requested_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": f"{self.money(10, 900):.2f}",
            "currency": "EUR",
            "method": "bank",
            "status": self.rng.choice(("requested", "approved")),
            "platform": self.rng.choice(_PLATFORMS),
            "country": "MT",
        }
        return self.envelope("wallet.withdrawal", data)

    def _session_times(self) -> tuple[int, int]:
        end = self.when()
        start = end - timedelta(minutes=self.rng.randrange(1, 120))
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def casino_session(self) -> dict:
        code, name, category = self.rng.choice(_GAMES)
        start, end = self._session_times()
        stakes = self.money(1, 200)
        data = {
            "player_id": self.player(),
            "session_id": f"s-{self.seq}",
            "game": {"code": code, "name": name, "category": category},
            "started_at": start,
            "ended_at": end,
            "currency": "EUR",
            "totals": {"stakes": stakes, "win": self.money(0, stakes * 1.5), "rounds": self.rng.randrange(1, 400)},
            "platform": self.rng.choice(_PLATFORMS),
        }
        return self.envelope("casino.session.closed", data)

    def sweeps_session(self) -> dict:
        code, name, category = self.rng.choice(_GAMES)
        start, end = self._session_times()
        data = {
            "player_id": self.player(),
            "session_id": f"s-{self.seq}",
            "game": {"code": code, "name": name, "category": category},
            "started_at": start,
            "ended_at": end,
            "gc": {"stakes": self.money(0, 5000), "win": self.money(0, 5000), "rounds": self.rng.randrange(0, 300)},
            "sc": {"stakes": self.money(0, 50), "win": self.money(0, 50), "rounds": self.rng.randrange(0, 100)},
            "platform": self.rng.choice(_PLATFORMS),
        }
        return self.envelope("sweeps.session.closed", data)

    def betslip(self, kind: str) -> dict:
        r = self.rng
        placed = self.when()
        offset = timezone(timedelta(hours=2))
        bets = []
        for i in range(r.randrange(1, 5)):
            legs = [{"selection": f"sel-{j}"} for j in range(r.randrange(1, 4))]
            bet = {"bet_id": f"b-{self.seq}-{i}", "type": "single" if len(legs) == 1 else "accumulator", "stake": self.money(1, 50), "free_bet": r.random() < 0.1, "legs": legs, "odds": round(r.uniform(1.1, 15), 2), "in_play": r.randrange(0, 2)}
            if kind == "sports.betslip.settled":
                bet["payout"] = round(bet["stake"] * bet["odds"], 2) if r.random() < 0.4 else 0
            bets.append(bet)
        data = {"player_id": self.player(), "betslip_id": f"slip-{self.seq}", "placed_at": placed.astimezone(offset).isoformat(timespec="seconds"), "currency": "EUR", "platform": r.choice(_PLATFORMS), "bets": bets}
        if kind == "sports.betslip.settled":
            data["settled_at"] = (placed + timedelta(hours=2)).astimezone(offset).isoformat(timespec="seconds")
            data["result"] = r.choice(("win", "loss"))
        return self.envelope(kind, data)

    def order(self) -> dict:
        r = self.rng
        created = self.when().astimezone(timezone(timedelta(hours=-4)))
        lines = [{"id": 9_000_000 + self.seq * 10 + i, "product_id": r.randrange(1000, 2000), "title": f"Item {i}", "sku": f"SKU-{r.randrange(100)}", "price": f"{self.money(2, 120):.2f}", "quantity": r.randrange(1, 4)} for i in range(r.randrange(1, 5))]
        data = {"order_id": 5_000_000 + self.seq, "customer_id": self.player(), "created_at": created.isoformat(timespec="seconds"), "currency": "EUR", "total": self.money(10, 400), "email": "shopper@example.com", "gateway": r.choice(("card", "paypal")), "line_items": lines}
        return self.envelope("order.created", data)

    def refund(self) -> dict:
        r = self.rng
        lines = [{"line_id": 9_000_000 + i, "product_id": r.randrange(1000, 2000), "title": f"Item {i}", "amount": self.money(2, 120)} for i in range(r.randrange(1, 3))]
        data = {"order_id": 5_000_000 + r.randrange(self.seq + 1), "refund_id": 7_000_000 + self.seq, "customer_id": self.player(), "refunded_at": self.when().strftime("%Y-%m-%dT%H:%M:%SZ"), "currency": "EUR", "reason": r.choice(("damaged", "late", None)), "lines": lines}
        return self.envelope("order.refunded", data)

    def make(self, kind: str) -> dict:
        makers: dict[str, Callable[[], dict]] = {
            "player.registered": lambda: self.profile(kind),
            "player.updated": lambda: self.profile(kind),
            "wallet.deposit": self.deposit,
            "wallet.withdrawal": self.withdrawal,
            "casino.session.closed": self.casino_session,
            "sweeps.session.closed": self.sweeps_session,
            "sports.betslip.placed": lambda: self.betslip(kind),
            "sports.betslip.settled": lambda: self.betslip(kind),
            "order.created": self.order,
            "order.refunded": self.refund,
        }
        return makers[kind]()

    def spoil(self, payload: dict) -> dict:
        """Make a good payload bad, the way feeds go bad."""
        data = payload["data"]
        how = self.rng.randrange(5)
        if how == 0:
            payload["type"] = "wallet.bonus.granted"  # a webhook no rule takes
        elif how == 1:
            data.pop("player_id", None)
            data.pop("customer_id", None)
        elif how == 2:
            data["currency"] = "USD"
            for key in ("amount_minor", "amount"):
                if key in data:
                    data[key] = "USD 12"  # not a number either
        elif how == 3:
            for key in ("processed_at", "requested_at", "ended_at", "placed_at", "settled_at", "created_at", "refunded_at"):
                if key in data:
                    data[key] = "yesterday"
            payload["occurred_at"] = "soon"
        else:
            data["player_id"] = {"id": 1}  # an object where an id belongs
            data["customer_id"] = [1]
        return payload


def make_payloads(vertical: str, n: int, rng: random.Random, *, bad_share: float = 0.01, mix: dict[str, int] | None = None,
                  timeline: tuple[datetime, timedelta] | None = None) -> list[dict[str, Any]]:
    """``n`` payloads in ``vertical``'s mix (or ``mix``), ``bad_share`` of them bad, reproducible from ``rng``.

    With ``timeline=(start, span)`` the payloads happen in order over ``span`` from ``start`` (the
    i-th at ``start + span * i / n``, give or take a minute), as a live feed does; without it, at
    random times over 90 days from 2026-06-01.
    """
    gen = _Gen(rng)
    kinds, weights = zip(*(mix or MIX[vertical]).items(), strict=True)
    out = []
    for i, kind in enumerate(rng.choices(kinds, weights, k=n)):
        if timeline is not None:
            at = timeline[0] + timeline[1] * (i / n)
            gen.when = lambda at=at: at + timedelta(seconds=rng.randrange(0, 60), microseconds=rng.randrange(0, 1000) * 1000)  # type: ignore[method-assign]
        payload = gen.make(kind)
        if rng.random() < bad_share:
            payload = gen.spoil(payload)
        out.append(payload)
    return out
