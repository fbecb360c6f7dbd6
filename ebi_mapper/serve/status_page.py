"""The operator's status page: one self-contained HTML page rendered from a status snapshot.

``render(snapshot)`` turns the ``/status.json`` snapshot (the contract is in docs/serve-status.md)
into a page an operator would rather read than ``/metrics``: per mapping, what came in (per
source) and went out (per event) over the last hour per minute and the last 24 hours per hour as
stacked bar charts, refusals/rejections/dead letters over time and by reason with one example
each, the backlog and the lag, Optimove's 429s and the limiter's headroom as bars.

Why this shape:

* **Self-contained.** No external asset, no CDN: the page is often opened on a box with no way
  out, and a status page that needs the internet to draw is no status page. CSS and the small
  script are inline (:mod:`ebi_mapper.serve.status_assets`), charts are SVG drawn here.
* **Drawn server-side, refreshed from JSON.** The first paint needs no script. The script polls
  ``status.json`` every ``refresh_seconds``: numbers (``data-path``/``data-sum``), bar heights
  and tooltips (each ``svg[data-chart]`` carries what it needs) and limiter bars are updated in
  place; when the *shape* changed (a new source, event, reason or mapping, which ``data-key``
  and ``data-series`` detect) it reloads the page, so the layout code lives here only.
* **Escaped.** Every text taken from the snapshot goes through :func:`html.escape` (attributes
  too) and the script writes data with ``textContent`` only, never ``innerHTML``; examples are
  redacted again (:func:`ebi_mapper.secrets.redact`) and cut to 300 characters, whatever the
  snapshot's producer did.
* **Accessible.** Each chart is a ``figure`` with a caption, an ``aria-label`` summary and a
  ``<title>`` per bar segment ("12:34 UTC · stripe: 3"); the view switch is a pair of
  ``aria-pressed`` buttons; colours are the Okabe-Ito palette (readable with colour blindness)
  and every colour has its name next to it in the legend.

Proof: ``tests/serve/test_status_page.py`` (structure, escaping, empty snapshots, proportional
heights) and ``tests/serve/test_status_page_browser.py`` (real headless Chromium: what a person
sees, the XSS payload shown as text and not run, refresh after ``status.json`` changes, no
console errors).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..secrets import redact
from .status_assets import PAGE_CSS, PAGE_JS

__all__ = ["EXAMPLE_LIMIT", "render"]

EXAMPLE_LIMIT = 300
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C7B00", "#555555")
PROBLEM_PALETTE = ("#D55E00", "#CC79A7", "#E69F00", "#8C7B00", "#B2182B", "#555555", "#7A4EAB", "#0072B2")
# Chart geometry (the script reads it back from the svg's data attributes).
CHART_W, PLOT_H, AXIS_W, LABEL_H = 520, 130, 44, 20

_VIEWS = (("minutes", "Last hour, per minute"), ("hours", "Last 24 hours, per hour"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _e(value: Any) -> str:
    return html.escape(_text(value), quote=True)


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _axis(value: float) -> str:
    """An axis label: 2.5k, 10k, 1.2M (the full figures are in the tooltips and the legend)."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}".removesuffix(".0") + suffix
    return _num(value)


def _secs(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{value:.1f} s"


def _clock(epoch: Any, fmt: str = "%H:%M") -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime(fmt)
    except (TypeError, ValueError, OverflowError, OSError):
        return "–"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is ≥ ``value`` (≥ 1): a round axis top."""
    value = max(1.0, float(value))
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _ints(values: Any, n: int) -> list[float]:
    out = []
    for v in _list(values)[:n]:
        out.append(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else 0.0)
    return out + [0.0] * (n - len(out))


def _series(view: Mapping[str, Any], srcs: Sequence[str], n: int) -> list[tuple[str, list[float]]]:
    """``[(label, values)]`` of the view's keys ``srcs``; with several, labels say which key."""
    out: list[tuple[str, list[float]]] = []
    for src in srcs:
        data = view.get(src)
        prefix = src.replace("_", "-") + ": " if len(srcs) > 1 else ""
        if isinstance(data, Mapping):
            out.extend((prefix + str(k), _ints(v, n)) for k, v in data.items())
        elif data is not None:
            out.append((src.replace("_", "-"), _ints(data, n)))
    return out


def _chart(path: str, view: Mapping[str, Any], srcs: Sequence[str], title: str, palette: Sequence[str],
           tfmt: str) -> str:
    starts = _list(view.get("starts"))
    n = len(starts)
    series = _series(view, srcs, n)
    totals = [sum(vals[i] for _, vals in series) for i in range(n)]
    top = _nice_max(max(totals, default=0.0))
    slot = (CHART_W - AXIS_W) / max(n, 1)
    bar = max(1.0, slot * 0.78)
    grand = sum(totals)
    summary = f"{title}: {_num(grand)} in total" + (f", at most {_num(max(totals))} in one bucket" if n else "")
    parts = [
        f'<svg class="chart" role="img" aria-label="{_e(summary)}" viewBox="0 0 {CHART_W} {PLOT_H + LABEL_H}" '
        f'preserveAspectRatio="none" data-chart="{_e(path)}" data-src="{_e(",".join(srcs))}" '
        f'data-series="{_e(json.dumps([label for label, _ in series]))}" data-n="{n}" data-h="{PLOT_H}" '
        f'data-tfmt="{_e(tfmt)}">',
        f'<line class="grid" x1="{AXIS_W}" x2="{CHART_W}" y1="0.5" y2="0.5"/>',
        f'<line class="grid" x1="{AXIS_W}" x2="{CHART_W}" y1="{PLOT_H / 2}" y2="{PLOT_H / 2}"/>',
        f'<line class="axis" x1="{AXIS_W}" x2="{CHART_W}" y1="{PLOT_H}" y2="{PLOT_H}"/>',
        f'<text class="ylab" x="{AXIS_W - 6}" y="10" data-role="ymax">{_axis(top)}</text>',
        f'<text class="ylab" x="{AXIS_W - 6}" y="{PLOT_H / 2 + 4}" data-role="ymid">{_axis(top / 2)}</text>',
        f'<text class="ylab" x="{AXIS_W - 6}" y="{PLOT_H}">0</text>',
    ]
    for i, start in enumerate(starts):
        x = AXIS_W + i * slot + (slot - bar) / 2
        base = float(PLOT_H)
        when = _clock(start, tfmt)
        for k, (label, vals) in enumerate(series):
            h = vals[i] / top * PLOT_H
            base -= h
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{base:.2f}" width="{bar:.2f}" height="{h:.2f}" '
                f'fill="{palette[k % len(palette)]}" data-k="{k}" data-i="{i}">'
                f'<title>{_e(when)} UTC · {_e(label)}: {_num(vals[i])}</title></rect>')
    for pos, i in (("start", 0), ("middle", n // 2), ("end", n - 1)):
        if n:
            x = AXIS_W + i * slot + slot / 2
            parts.append(f'<text class="xlab" x="{x:.1f}" y="{PLOT_H + LABEL_H - 4}" text-anchor="{pos}" '
                         f'data-role="x{i}" data-i="{i}">{_e(_clock(starts[i], tfmt))}</text>')
    parts.append(f'<text class="empty" x="{(CHART_W + AXIS_W) / 2}" y="{PLOT_H / 2 - 8}" '
                 f'visibility="{"hidden" if grand else "visible"}">nothing in this period</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch" style="background:{palette[k % len(palette)]}"></span>{_e(label)} '
        f'<b data-legend="{k}">{_num(sum(vals))}</b></li>'
        for k, (label, vals) in enumerate(series))
    return (f'<figure class="chart-box"><figcaption>{_e(title)} <span class="total">'
            f'{_num(grand)}</span></figcaption>{"".join(parts)}<ul class="legend">{legend}</ul></figure>')


def _tile(label: str, body: str, hint: str = "") -> str:
    hint_html = f'<span class="hint">{_e(hint)}</span>' if hint else ""
    return f'<div class="tile"><span class="label">{_e(label)}</span><span class="value">{body}</span>{hint_html}</div>'


def _bound(path: str, value: str, fmt: str = "num") -> str:
    return f'<span data-path="{_e(path)}" data-fmt="{fmt}">{value}</span>'


def _sum_of(view: Mapping[str, Any], key: str) -> float:
    data = view.get(key)
    seqs = list(data.values()) if isinstance(data, Mapping) else [data]
    return sum(sum(_ints(s, len(_list(s)))) for s in seqs)


def _example(path: str, example: Any) -> str:
    """One example (message, where, when); ``path`` is its place in the snapshot, for the refresh."""
    if not isinstance(example, Mapping) or not example:
        return '<span class="muted">no example</span>'
    message = redact(_text(example.get("message")))
    if len(message) > EXAMPLE_LIMIT:
        message = message[: EXAMPLE_LIMIT - 1] + "…"
    source = redact(_text(example.get("source")))
    return (f'<q class="example" data-path="{path}.message" data-fmt="example">{_e(message)}</q>'
            f'<span class="muted"> — <span data-path="{path}.source" data-fmt="text">{_e(source)}</span>, '
            f'<span data-path="{path}.at" data-fmt="stamp">{_e(_clock(example.get("at"), "%d %b %H:%M:%S"))}</span>'
            f' UTC</span>')


def _reason_table(path: str, rows: Any, key: str, heading: str, what: str) -> str:
    """One row per reason (``key`` names it) with its count and one example; ``path`` is the list's."""
    raw = rows if isinstance(rows, list) else []
    length = f'data-len-path="{_e(path)}" data-len="{len(raw)}"'
    if not raw:
        return f'<div class="table-box" {length}><h3>{_e(heading)}</h3><p class="muted">No {_e(what)}.</p></div>'
    body = "".join(
        f'<tr data-key-path="{path}.{j}.{key}" data-key="{_e(r.get(key))}">'
        f'<th scope="row">{_e(redact(str(r.get(key, ""))))}</th>'
        f'<td class="num">{_bound(f"{path}.{j}.count", _num(r.get("count")))}</td>'
        f'<td>{_example(f"{path}.{j}.example", r.get("example"))}</td></tr>'
        for j, r in enumerate(x if isinstance(x, Mapping) else {} for x in raw))
    return (f'<div class="table-box" {length}><h3>{_e(heading)}</h3><table><thead><tr><th scope="col">{_e(key)}</th>'
            f'<th scope="col" class="num">count</th><th scope="col">example</th></tr></thead>'
            f'<tbody>{body}</tbody></table></div>')


def _limiter(mi: int, optimove: Mapping[str, Any]) -> str:
    rows = []
    limiters = _list(optimove.get("limiter"))
    for j, lim in enumerate(x if isinstance(x, Mapping) else {} for x in limiters):
        used, limit = lim.get("used"), lim.get("limit")
        u, lm = _finite(used), _finite(limit)
        pct = max(0.0, min(100.0, 100.0 * u / lm)) if u is not None and lm else 0.0
        path = f"mappings.{mi}.optimove.limiter.{j}"
        rows.append(
            f'<div class="limit" data-key-path="{path}.class" data-key="{_e(lim.get("class"))}">'
            f'<span class="label">{_e(lim.get("class"))}</span>'
            f'<div class="meter" role="meter" aria-valuemin="0" aria-valuemax="{_e(limit)}" aria-valuenow="{_e(used)}" '
            f'aria-label="{_e(lim.get("class"))} limiter use" title="{_e(used)} of {_e(limit)} used">'
            f'<div class="fill" data-used="{path}" style="width:{pct:.1f}%"></div></div>'
            f'<span class="muted">{_bound(path + ".used", _num(used))} / {_bound(path + ".limit", _num(limit))} '
            f'per {_bound(path + ".window_seconds", _secs(lim.get("window_seconds")), "secs")}</span></div>')
    if not rows:
        rows.append('<p class="muted">No limiter figures.</p>')
    return f'<div data-len-path="mappings.{mi}.optimove.limiter" data-len="{len(limiters)}">{"".join(rows)}</div>'


def _mapping(mi: int, m: Mapping[str, Any]) -> str:
    sources = "".join(
        f'<li><b>{_e(s.get("name"))}</b> <code>{_e(s.get("path"))}</code> <span class="muted">{_e(s.get("scheme"))}</span></li>'
        for s in _list(m.get("sources")) if isinstance(s, Mapping))
    backlog = _map(m.get("backlog"))
    lag = _map(m.get("lag_seconds"))
    optimove = _map(m.get("optimove"))
    p = f"mappings.{mi}"
    views = []
    for view_key, caption in _VIEWS:
        view = _map(m.get(view_key))
        path = f"{p}.{view_key}"
        tfmt = "%H:%M" if view_key == "minutes" else "%d %b %H:00"
        tiles = "".join(
            _tile(label, f'<span data-sum="{_e(path)}" data-sum-src="{key}">{_num(_sum_of(view, key))}</span>')
            for label, key in (("received", "received"), ("delivered", "delivered"), ("refused", "refused"),
                               ("rejected", "rejected"), ("dead-lettered", "dead_lettered")))
        views.append(
            f'<div class="view view-{view_key}"><h3 class="view-title">{_e(caption)}</h3>'
            f'<div class="tiles">{tiles}</div><div class="charts">'
            f'{_chart(path, view, ["received"], "In: records accepted, by source", PALETTE, tfmt)}'
            f'{_chart(path, view, ["delivered"], "Out: events delivered, by event", PALETTE, tfmt)}'
            f'{_chart(path, view, ["refused", "rejected", "dead_lettered"], "Problems: refused, rejected, dead-lettered", PROBLEM_PALETTE, tfmt)}'
            f"</div></div>")
    now_tiles = "".join([
        _tile("intake backlog", _bound(f"{p}.backlog.intake_records", _num(backlog.get("intake_records"))), "records"),
        _tile("outbox", _bound(f"{p}.backlog.outbox_events", _num(backlog.get("outbox_events"))), "events waiting"),
        _tile("oldest waiting", _bound(f"{p}.backlog.oldest_waiting_seconds", _secs(backlog.get("oldest_waiting_seconds")), "secs")),
        _tile("lag p50 / p99", _bound(f"{p}.lag_seconds.p50", _secs(lag.get("p50")), "secs") + " / "
              + _bound(f"{p}.lag_seconds.p99", _secs(lag.get("p99")), "secs"), "accept → delivered, last 5 min"),
        _tile("Optimove 429s", _bound(f"{p}.optimove.throttled_429", _num(optimove.get("throttled_429")))),
    ])
    tenant = m.get("tenant")
    return (
        f'<section class="mapping" id="mapping-{mi}" aria-labelledby="mapping-{mi}-h" '
        f'data-key-path="{p}.client" data-key="{_e(m.get("client"))}">'
        f'<h2 id="mapping-{mi}-h">{_e(m.get("client"))}'
        f'{f" <small>tenant {_e(tenant)}</small>" if tenant is not None else ""}</h2>'
        f'<ul class="sources" aria-label="sources" data-len-path="{p}.sources" '
        f'data-len="{len(_list(m.get("sources")))}">{sources}</ul>'
        f'<div class="tiles now">{now_tiles}</div>{"".join(views)}'
        f'<div class="tables">{_reason_table(p + ".rejections", m.get("rejections"), "code", "Rejections by code", "rejections")}'
        f'{_reason_table(p + ".dead_letters", m.get("dead_letters"), "reason", "Dead letters by reason", "dead letters")}</div>'
        f'<div class="limits"><h3>Optimove limiter headroom</h3>{_limiter(mi, optimove)}</div></section>')


def render(snapshot: Mapping[str, Any], *, refresh_seconds: float = 10.0, json_url: str = "status.json",
           title: str = "ebi-mapper status") -> str:
    """The whole page for ``snapshot`` (the ``/status.json`` shape); polls ``json_url`` every ``refresh_seconds``."""
    snapshot = _map(snapshot)
    mappings = _list(snapshot.get("mappings"))
    generated, started = snapshot.get("generated_at"), snapshot.get("started_at")
    uptime = (float(generated) - float(started)) if isinstance(generated, (int, float)) and isinstance(started, (int, float)) else None
    body = "".join(_mapping(i, m) for i, m in enumerate(mappings) if isinstance(m, Mapping)) or '<p class="muted">No mapping is served.</p>'
    buttons = "".join(f'<button type="button" data-view="{k}" aria-pressed="{str(k == "minutes").lower()}">{_e(c)}</button>'
                      for k, c in _VIEWS)
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{_e(title)}</title><style>{PAGE_CSS}</style>'
        f"<noscript><style>.view-hours{{display:block!important}}</style></noscript></head>"
        f'<body data-view="minutes" data-refresh="{max(1.0, float(refresh_seconds)):g}" data-json-url="{_e(json_url)}"><header><h1>{_e(title)}</h1>'
        f'<p class="meta">version {_e(snapshot.get("version"))} · up <span data-uptime>{_e(_uptime(uptime))}</span>'
        f' · updated <time data-path="generated_at" data-fmt="clock">{_e(_clock(generated, "%H:%M:%S"))}</time> UTC'
        f' <span class="stale" role="status" aria-live="polite"></span></p>'
        f'<div class="switch" role="group" aria-label="time range">{buttons}</div></header>'
        f'<main data-count="{len(mappings)}">{body}</main>'
        f'<footer>Refreshes every {_num(refresh_seconds)} s from <code>{_e(json_url)}</code>. Times are UTC.</footer>'
        f"<script>{PAGE_JS}</script></body></html>")


def _uptime(seconds: float | None) -> str:
    if seconds is None or seconds < 0 or not math.isfinite(seconds):
        return "–"
    d, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    return (f"{d} d {h} h" if d else f"{h} h {rest // 60} min") if (d or h) else f"{rest // 60} min {rest % 60} s"
