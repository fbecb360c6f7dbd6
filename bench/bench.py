"""The speed bench: ebi-mapper against the naive pipeline and a hand-written ceiling, in one process.

Run from the repository root::

    python bench/bench.py                      # in-process bench + a 200,000-line `map` run
    python bench/bench.py --lines 1000000      # the issue's end-to-end size
    python bench/bench.py --records 5000 --repeat 3 --lines 0   # quick look, no `map` run

The workload (bench/workload.py) is seeded: the five bench mappings (bench/mappings/, all 10 OOTB
events between them), each vertical's webhook mix, bet slips and orders fanning out to several
events, 1% bad records. Three implementations map the same payloads to validated events:

(a) naive: ``jmespath.search`` of every expression, the same coercions in plain Python
    (``datetime``, ``Decimal``), ``jsonschema`` (Draft 2020-12) validation of every event;
(b) ebi-mapper: ``compile_mapping(...).map_many(payloads)``;
(c) hand-written Python for these five mappings: direct dict access, minimal checks,
    ``jsonschema_rs`` validation: the practical ceiling.

Each is timed with ``time.perf_counter`` over the whole workload ``--repeat`` times; best and
median are printed as events/s, with the ratios b/a and b/c. The three outputs are compared
event by event. Then ``ebi-mapper map`` runs in a child process on a generated JSON lines file
(1% garbage lines), reporting lines/s and the child's peak RSS (``getrusage``), at the full size
and at a tenth of it, to show memory stays flat. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jmespath
import jmespath.functions
import jsonschema_rs
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ebi_mapper import compile_mapping, load_mapping  # noqa: E402
from ebi_mapper.catalog import load_catalog  # noqa: E402
from ebi_mapper.schemas import load_schema, make_validator  # noqa: E402
from workload import VERTICALS, make_payloads  # noqa: E402

MAPPINGS = Path(__file__).resolve().parent / "mappings"
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
MALTA = ZoneInfo("Europe/Malta")
FOUR_PLACES = Decimal("0.0001")
SKEW = timedelta(seconds=300)

# -- (a) the naive pipeline ----------------------------------------------------------------------


class _NaiveFunctions(jmespath.functions.Functions):
    """The two extra functions the bench mappings use, as anyone would add them to jmespath."""

    @jmespath.functions.signature({"types": ["number", "null"]}, {"types": ["number"]})
    def _func_minor_to_major(self, amount, exponent):
        return None if amount is None else _json_number(Decimal(repr(amount)).scaleb(-int(exponent)))

    @jmespath.functions.signature({"types": ["number", "null"]}, {"types": ["number", "null"]})
    def _func_subtract(self, a, b):
        return None if a is None or b is None else _json_number(Decimal(repr(a)) - Decimal(repr(b)))


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _naive_time(value: Any) -> datetime:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, (int, float)):
        return datetime(1970, 1, 1, tzinfo=UTC) + (timedelta(milliseconds=value) if value > 1e11 else timedelta(seconds=value))
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=MALTA)
    return parsed.astimezone(UTC)


def _naive_coerce(param: Any, value: Any) -> Any:
    kind = param.type
    if kind == "timestamp":
        return _naive_time(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == "string":
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, (dict, list, bool)):
            raise ValueError(f"not a string: {value!r}")
        return str(value)
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("a boolean is not a number")
        if param.monetary and not isinstance(value, int):
            return float(Decimal(str(value)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))
        return float(value) if isinstance(value, str) else value
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError("a boolean is not an integer")
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "yes_no":
        return "Yes" if value else "No"
    return value  # string_or_number


class NaiveMapper:
    """``jmespath.search`` per expression, plain-Python coercion, ``jsonschema`` per event."""

    def __init__(self, mapping: Any):
        catalog = load_catalog()
        self.mapping = mapping
        self.options = jmespath.Options(custom_functions=_NaiveFunctions())
        channels = set(mapping.channels)
        self.rules = []
        for rule in mapping.rules:
            event = catalog.events[rule.event]
            fields = [(key, spec.expr.source, event.params[key]) for key, spec in rule.context.items()]
            required = {p.key for p in event.params.values() if p.cls == "mandatory" or p.primary_key or (p.cls == "channel" and channels & set(p.channels))}
            self.rules.append((rule, event, fields, required, make_validator(mapping.vertical, rule.event)))

    def search(self, expression: str, data: Any) -> Any:
        return jmespath.search(expression, data, options=self.options)

    def map(self, payload: Any, now: datetime) -> tuple[list[dict], int]:
        """The events of one payload, and how many units were rejected."""
        events, rejected = [], 0
        for rule, event, fields, required, validator in self.rules:
            if rule.when is not None and not self.search(rule.when.source, payload):
                continue
            scopes = [payload]
            if rule.each is not None:
                items = self.search(rule.each.source, payload)
                if not isinstance(items, list):
                    rejected += 1
                    continue
                scopes = [{"item": item, "root": payload, "index": i} for i, item in enumerate(items)]
            for data in scopes:
                try:
                    event_dict = self._event(rule, event, fields, required, data, now)
                except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, jmespath.exceptions.JMESPathError):
                    rejected += 1
                    continue
                if event_dict is None:
                    continue  # before go-live
                if validator.is_valid(event_dict):
                    events.append(event_dict)
                else:
                    list(validator.iter_errors(event_dict))  # the detailed reasons, as a rejection would carry
                    rejected += 1
        return events, rejected

    def _event(self, rule: Any, event: Any, fields: list, required: set, data: Any, now: datetime) -> dict | None:
        customer = self.search(rule.customer.expr.source, data)
        if customer is None or isinstance(customer, (dict, list, bool)):
            raise ValueError("no customer")
        when = _naive_time(self.search(rule.timestamp.expr.source, data))
        context = {}
        for key, expression, param in fields:
            value = self.search(expression, data)
            if value is None:
                if key in required:
                    raise ValueError(f"{key} is required")
                continue
            context[key] = _naive_coerce(param, value)
        if any(event.params[k].monetary for k in context):
            currency = self.search(rule.currency.source, data) if rule.currency else None
            if not isinstance(currency, str) or currency.strip().upper() != self.mapping.site_currency:
                raise ValueError("currency")
        if when < self.mapping.go_live:
            return None
        if when - now > SKEW:
            raise ValueError("future")
        customer = str(int(customer)) if isinstance(customer, float) else str(customer)
        return {"tenant": self.mapping.tenant, "event": event.key, "customer": customer, "timestamp": when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"), "context": context}


# -- (c) hand-written Python for the bench mappings ----------------------------------------------


def _env(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _ctx(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _malta(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MALTA).astimezone(UTC)


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _millis(value: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=value)


def _money(value: Any) -> int | float:
    """Rounded to 4 places; whole amounts computed in Decimal (cents, differences) stay ints."""
    if type(value) is int:
        return value
    if type(value) is Decimal:
        return _json_number(value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))
    return float(Decimal(str(value)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))


def _id(value: Any) -> str:
    if type(value) is not int and type(value) is not str:
        raise TypeError("bad id")
    return str(value)


def _yes(value: bool) -> str:
    return "Yes" if value else "No"


def _hw_profile(p: dict, event: str, boolean_test: bool) -> list:
    d = p["data"]
    m = d["marketing"]
    a = d["address"]
    c = {
        "ootb_email": d["email"], "ootb_mobile_number": d["mobile"], "ootb_allow_email": _yes(m["email"]), "ootb_allow_sms": _yes(m["sms"]),
        "ootb_allow_push": _yes(m["push"]), "ootb_alias": d["username"], "ootb_first_name": d["first_name"], "ootb_last_name": d["last_name"],
        "ootb_gender": d["gender"], "ootb_date_of_birth": d["date_of_birth"], "ootb_city": a["city"], "ootb_country": a["country"],
        "ootb_language": d["language"], "ootb_currency": d["currency"],
    }
    if d["affiliate_id"] is not None:
        c["ootb_affiliate_id"] = d["affiliate_id"]
    c["ootb_platform"] = d["platform"]
    c["ootb_brand"] = p["brand"]
    c["ootb_is_test"] = d["test"] if boolean_test else _yes(d["test"])
    return [(event, _id(d["player_id"]), _malta(p["occurred_at"]), c, None)]


def _hw_deposit(p: dict) -> list:
    d = p["data"]
    at = _iso(d["processed_at"])
    c = {
        "ootb_transaction_id": d["tx_id"], "ootb_deposit_timestamp": _ctx(at), "ootb_deposit_amount": _money(Decimal(d["amount_minor"]).scaleb(-2)),
        "ootb_start_balance": _money(d["balance_before"]), "ootb_deposit_method": d["method"], "ootb_deposit_status": "completed",
        "ootb_brand": p["brand"], "ootb_platform": d["platform"], "ootb_country": d["country"],
    }
    return [("ootb_deposit", _id(d["player_id"]), at, c, d["currency"])]


def _hw_withdrawal(p: dict) -> list:
    d = p["data"]
    at = _iso(d["requested_at"])
    c = {
        "ootb_transaction_id": d["tx_id"], "ootb_withdrawal_timestamp": _ctx(at), "ootb_withdrawal_amount": _money(d["amount"]),
        "ootb_withdrawal_method": d["method"], "ootb_withdrawal_status": d["status"], "ootb_brand": p["brand"], "ootb_platform": d["platform"], "ootb_country": d["country"],
    }
    return [("ootb_withdrawal", _id(d["player_id"]), at, c, d["currency"])]


def _hw_session(p: dict) -> list:
    d = p["data"]
    g, t = d["game"], d["totals"]
    end = _millis(d["ended_at"])
    c = {
        "ootb_game_code": g["code"], "ootb_game_name": g["name"], "ootb_game_category": g["category"], "ootb_game_session_reference": d["session_id"],
        "ootb_session_start_timestamp": _ctx(_millis(d["started_at"])), "ootb_session_end_timestamp": _ctx(end), "ootb_stakes": _money(t["stakes"]),
        "ootb_real_win_amount": _money(t["win"]), "ootb_gross_gaming_revenue": _money(Decimal(repr(t["stakes"])) - Decimal(repr(t["win"]))),
        "ootb_number_of_bets": t["rounds"], "ootb_brand": p["brand"], "ootb_platform": d["platform"],
    }
    return [("ootb_game_session", _id(d["player_id"]), end, c, d["currency"])]


def _hw_sweeps(p: dict) -> list:
    d = p["data"]
    g, gc, sc = d["game"], d["gc"], d["sc"]
    end = _millis(d["ended_at"])
    c = {
        "ootb_game_code": g["code"], "ootb_game_name": g["name"], "ootb_game_category": g["category"], "ootb_game_session_reference": d["session_id"],
        "ootb_session_start_timestamp": _ctx(_millis(d["started_at"])), "ootb_session_end_timestamp": _ctx(end),
        "ootb_gc_stakes": gc["stakes"], "ootb_gc_win_amount": gc["win"], "ootb_number_of_gc_bets": gc["rounds"],
        "ootb_sc_stakes": sc["stakes"], "ootb_sc_win_amount": sc["win"], "ootb_number_of_sc_bets": sc["rounds"], "ootb_brand": p["brand"], "ootb_platform": d["platform"],
    }
    return [("ootb_sweepstakes_game_session", _id(d["player_id"]), end, c, None)]


def _hw_bets(p: dict, settled: bool) -> list:
    d = p["data"]
    customer, placed = _id(d["player_id"]), _iso(d["placed_at"])
    at = _iso(d["settled_at"]) if settled else placed
    out = []
    for b in d["bets"]:
        c = {"ootb_betslip_key": d["betslip_id"], "ootb_bet_key": b["bet_id"], "ootb_betslip_status": d["result"] if settled else "open", "ootb_bet_date_time": _ctx(placed)}
        if settled:
            c["ootb_settled_date_time"] = _ctx(at)
        c["ootb_bet_type"] = b["type"]
        c["ootb_bet_stake"] = _money(b["stake"])
        if settled:
            c["ootb_bet_payout"] = _money(b["payout"])
        else:
            c["ootb_is_free"] = b["free_bet"]
        c["ootb_num_selections"] = len(b["legs"])
        c["ootb_dec_price"] = b["odds"]
        c["ootb_is_live"] = b["in_play"]
        c["ootb_brand"] = p["brand"]
        c["ootb_platform"] = d["platform"]
        out.append(("ootb_sports_bet_settled" if settled else "ootb_sports_bet_placed", customer, at, c, d["currency"]))
    return out


def _hw_order(p: dict) -> list:
    d = p["data"]
    customer, at, order = _id(d["customer_id"]), _iso(d["created_at"]), str(d["order_id"])
    out = []
    for i in d["line_items"]:
        c = {
            "ootb_order_id": order, "ootb_item_order_id": str(i["id"]), "ootb_product_id": str(i["product_id"]), "ootb_item_name": i["title"], "ootb_sku_id": i["sku"],
            "ootb_item_price": _money(i["price"]), "ootb_quantity": i["quantity"], "ootb_total_pay": _money(d["total"]), "ootb_email": d["email"],
            "ootb_payment_method": d["gateway"], "ootb_brand": p["brand"],
        }
        out.append(("ootb_product_order_completed", customer, at, c, d["currency"]))
    return out


def _hw_refund(p: dict) -> list:
    d = p["data"]
    customer, at = _id(d["customer_id"]), _iso(d["refunded_at"])
    out = []
    for i in d["lines"]:
        c = {"ootb_order_id": str(d["order_id"]), "ootb_refund_id": str(d["refund_id"]), "ootb_item_order_id": str(i["line_id"]), "ootb_product_id": str(i["product_id"]), "ootb_item_name": i["title"], "ootb_refund_amount": _money(i["amount"])}
        if d["reason"] is not None:
            c["ootb_refund_reason"] = d["reason"]
        c["ootb_brand"] = p["brand"]
        out.append(("ootb_product_refund", customer, at, c, d["currency"]))
    return out


HANDLERS: dict[str, Callable[[dict], list]] = {
    "player.registered": lambda p: _hw_profile(p, "ootb_registration", False),
    "player.updated": lambda p: _hw_profile(p, "ootb_user_details_update", True),
    "wallet.deposit": _hw_deposit,
    "wallet.withdrawal": _hw_withdrawal,
    "casino.session.closed": _hw_session,
    "sweeps.session.closed": _hw_sweeps,
    "sports.betslip.placed": lambda p: _hw_bets(p, False),
    "sports.betslip.settled": lambda p: _hw_bets(p, True),
    "order.created": _hw_order,
    "order.refunded": _hw_refund,
}


class HandWritten:
    """What an engineer would write for these five mappings by hand."""

    def __init__(self, mapping: Any):
        self.tenant = mapping.tenant
        self.go_live = mapping.go_live
        self.validators = {event: jsonschema_rs.validator_for(load_schema(mapping.vertical, event)).is_valid for event in {r.event for r in mapping.rules}}

    def map(self, payload: dict, now: datetime) -> tuple[list[dict], int]:
        handler = HANDLERS.get(payload.get("type"))
        if handler is None:
            return [], 0
        try:
            produced = handler(payload)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
            return [], 1
        events, rejected = [], 0
        for event, customer, at, context, currency in produced:
            if currency is not None and currency != "EUR":
                rejected += 1
                continue
            if at < self.go_live:
                continue
            if at - now > SKEW:
                rejected += 1
                continue
            item = {"tenant": self.tenant, "event": event, "customer": customer, "timestamp": _env(at), "context": context}
            if self.validators[event](item):
                events.append(item)
            else:
                rejected += 1
        return events, rejected


# -- measuring -----------------------------------------------------------------------------------


def _run_engine(mapper: Any, payloads: list) -> tuple[int, list]:
    results = mapper.map_many(payloads, now=NOW)
    return sum(len(r.events) for r in results), results


def _run_simple(impl: Any, payloads: list) -> tuple[int, list]:
    out = [impl.map(p, NOW) for p in payloads]
    return sum(len(events) for events, _ in out), out


def in_process(records: int, repeat: int, seed: int) -> dict:
    """Time (a), (b) and (c) on the same workload; check their events agree."""
    per_vertical = max(1, records // len(VERTICALS))
    rng = random.Random(seed)
    loads = {v: make_payloads(v, per_vertical, rng) for v in VERTICALS}
    impls: dict[str, dict] = {"naive": {}, "ebi-mapper": {}, "hand-written": {}}
    for vertical in VERTICALS:
        mapping = load_mapping(MAPPINGS / f"{vertical}.yaml")
        impls["naive"][vertical] = NaiveMapper(mapping)
        impls["ebi-mapper"][vertical] = compile_mapping(mapping)
        impls["hand-written"][vertical] = HandWritten(mapping)

    # Same events from all three, payload by payload (the JSON Optimove would receive). Only bad
    # records may differ: the hand-written code refuses some the mappings accept (an id sent as
    # an array becomes the string '[1]' through to_string(), say).
    agreement = {}
    engine_events = {v: [[orjson.dumps(e.to_dict()) for e in r.events] for r in impls["ebi-mapper"][v].map_many(loads[v], now=NOW)] for v in VERTICALS}
    for name in ("naive", "hand-written"):
        same = total = 0
        for v in VERTICALS:
            for payload, ours in zip(loads[v], engine_events[v], strict=True):
                theirs = [orjson.dumps(e) for e in impls[name][v].map(payload, NOW)[0]]
                total += 1
                same += theirs == ours
        agreement[name] = (same, total)

    # The workload stays alive through every run: freeze it (and the compiled mappings) so the
    # cyclic GC does not rescan it again and again, the same for all three implementations.
    gc.collect()
    gc.freeze()
    totals: dict[str, list[float]] = {name: [] for name in impls}
    events: dict[str, int] = {}
    for _ in range(repeat):  # interleaved, so a burst of load on a shared machine hits all three
        for name, by_vertical in impls.items():
            run = _run_engine if name == "ebi-mapper" else _run_simple
            elapsed, count = 0.0, 0
            for v in VERTICALS:
                started = time.perf_counter()
                n, _ = run(by_vertical[v], loads[v])
                elapsed += time.perf_counter() - started
                count += n
            totals[name].append(elapsed)
            events[name] = count
    gc.unfreeze()
    figures = {}
    for name, times in totals.items():
        best, median = min(times), statistics.median(times)
        figures[name] = {"events": events[name], "best_s": best, "median_s": median, "best_eps": events[name] / best, "median_eps": events[name] / median}
    records_total = sum(len(p) for p in loads.values())
    return {"records": records_total, "figures": figures, "agreement": agreement}


E2E = {
    # name: (mapping, webhook mix or None for the vertical's own mix)
    "mixed": ("multi_sport_casino", None),
    "deposits": ("casino", {"wallet.deposit": 1}),
}


def end_to_end(lines: int, seed: int, workdir: Path, workload: str = "mixed", workers: int | str = 1) -> dict:
    """`ebi-mapper map --workers N` in a child process on a generated file: lines/s and peak RSS."""
    rng = random.Random(seed)
    vertical, mix = E2E[workload]
    path = workdir / f"bench-{workload}-{lines}.jsonl"
    with open(path, "wb") as fh:
        written = 0
        while written < lines:
            batch = make_payloads(vertical, min(10_000, lines - written), rng, mix=mix)
            chunk = []
            for payload in batch:
                if rng.random() < 0.01:
                    chunk.append(b'{"type": "wallet.deposit", "data": {oops')  # 1% garbage lines
                else:
                    chunk.append(orjson.dumps(payload))
            fh.write(b"\n".join(chunk) + b"\n")
            written += len(batch)
    out, rejects = workdir / "events.jsonl", workdir / "rejects.jsonl"
    cmd = [sys.executable, "-m", "ebi_mapper", "map", str(MAPPINGS / f"{vertical}.yaml"), str(path), "--out", str(out), "--rejects", str(rejects), "--summary", "json", "--now", "2026-12-15T12:00:00Z", "--workers", str(workers)]
    # A small Python in between starts the command and reports its peak RSS: a child forked
    # straight from this (big) process would count this process's pages as its own. With
    # workers, RUSAGE_CHILDREN is the largest single process (main or a worker), not their sum.
    runner = "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", runner, *cmd], capture_output=True, cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    maxrss_kb, returncode = map(int, child.stdout.split())
    summary = json.loads(child.stderr)
    size = path.stat().st_size
    for p in (path, out, rejects):
        p.unlink(missing_ok=True)
    return {
        "workload": workload,
        "workers": workers,
        "processes": summary["workers"],
        "lines": lines,
        "bytes": size,
        "wall_s": wall,
        "lines_per_s": lines / wall,
        "loop_records_per_s": summary["records_per_second"],
        "peak_rss_mb": maxrss_kb / 1024,
        "events": summary["events_total"],
        "balanced": summary["balanced"] and summary["records"] == lines,
        "exit": returncode,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="payloads in the in-process workload (split over the five verticals)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions of each implementation")
    parser.add_argument("--lines", type=int, default=200_000, help="lines in the end-to-end `map` file (0: skip)")
    parser.add_argument("--e2e", nargs="+", choices=sorted(E2E), default=["mixed", "deposits"], help="end-to-end workloads: the mixed multi_sport_casino feed, one deposit per line")
    parser.add_argument("--workers", nargs="+", default=["1", "auto"], help="`map --workers` values for the end-to-end runs: N, 0 (one per CPU), auto (the default of `map`)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"in_process": in_process(args.records, args.repeat, args.seed)}
    if args.lines:
        with tempfile.TemporaryDirectory(prefix="ebi-bench-") as tmp:
            report["end_to_end"] = [
                end_to_end(size, args.seed, Path(tmp), workload, workers) for workload in args.e2e for workers in args.workers for size in (max(1, args.lines // 10), args.lines)
            ]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ip = report["in_process"]
    f = ip["figures"]
    print(f"in-process: {ip['records']:,} records -> {f['ebi-mapper']['events']:,} events, best / median of {args.repeat}, one core")
    for name, label in (("naive", "(a) naive: jmespath.search + jsonschema"), ("ebi-mapper", "(b) ebi-mapper"), ("hand-written", "(c) hand-written + jsonschema_rs")):
        print(f"  {label:<42} {f[name]['best_eps']:>10,.0f} events/s   (median {f[name]['median_eps']:,.0f})")
    print(f"  b/a = {f['ebi-mapper']['best_eps'] / f['naive']['best_eps']:.1f}x    b/c = {f['ebi-mapper']['best_eps'] / f['hand-written']['best_eps']:.2f}")
    for name, (same, total) in ip["agreement"].items():
        print(f"  payloads whose events equal ebi-mapper's, byte for byte: {name} {same:,}/{total:,}")
    for run in report.get("end_to_end", []):
        print(
            f"ebi-mapper map --workers {run['workers']} ({run['processes']} process{'es' if run['processes'] > 1 else ''}), {run['workload']}, {run['lines']:,} lines ({run['bytes'] / 1e6:.0f} MB): "
            f"{run['wall_s']:.2f} s wall, {run['lines_per_s']:,.0f} lines/s end to end "
            f"({run['loop_records_per_s']:,} records/s in the loop), peak RSS {run['peak_rss_mb']:.0f} MB{' (largest process)' if run['processes'] > 1 else ''}, {run['events']:,} events, counts balanced: {run['balanced']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
