"""The status page in a real headless Chromium: what a person sees, XSS, refresh, no console errors.

The page is served by a real loopback HTTP server (``/`` renders the current snapshot,
``/status.json`` answers it), as ``ebi-mapper serve`` does.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ebi_mapper.serve.status_page import render

from .status_browser import chromium, watch_errors
from .status_helpers import XSS, make_snapshot

pytestmark = pytest.mark.e2e

class _Site:
    """What the test server answers; the test changes ``snapshot`` and ``json_status`` under it."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        self.json_status = 200
        self.page_loads = 0
        self.lock = threading.Lock()


def _handler(site: _Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            with site.lock:
                if path == "/":
                    site.page_loads += 1
                    status, kind, body = 200, "text/html; charset=utf-8", render(site.snapshot, refresh_seconds=1).encode()
                elif path == "/status.json":
                    status, kind, body = site.json_status, "application/json", json.dumps(site.snapshot).encode()
                else:
                    status, kind, body = 404, "text/plain", b"not found"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def site() -> Iterator[tuple[_Site, str]]:
    s = _Site(make_snapshot())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg, watch_errors(pg)
    context.close()


def _stack_heights(pg: Any, chart: str) -> list[float]:
    """Rendered pixel height of each bucket's stack in ``chart`` (an svg data-chart/data-src pair)."""
    return pg.evaluate("""(sel) => {
        const svg = document.querySelector(sel);
        const out = Array(Number(svg.dataset.n)).fill(0);
        for (const r of svg.querySelectorAll('rect.bar')) out[Number(r.dataset.i)] += r.getBoundingClientRect().height;
        return out;
    }""", chart)


def _assert_proportional(heights: list[float], values: list[float]) -> None:
    top = max(values)
    assert top > 0
    scale = max(heights) / top
    assert max(heights) > 30  # the tallest stack is visible, not flat (pixels)
    for h, v in zip(heights, values, strict=True):
        assert h == pytest.approx(v * scale, abs=0.6)


IN_CHART = 'svg[data-chart="mappings.0.minutes"][data-src="received"]'


def _in_totals(snapshot: dict[str, Any], view: str = "minutes") -> list[float]:
    received = snapshot["mappings"][0][view]["received"]
    return [float(sum(vals)) for vals in zip(*received.values(), strict=True)]


def test_what_an_operator_sees(site, page, tmp_path):
    s, url = site
    pg, errors = page
    pg.goto(url)
    pg.wait_for_selector(IN_CHART)
    # the charts: one bar stack per minute, heights proportional to records in
    _assert_proportional(_stack_heights(pg, IN_CHART), _in_totals(s.snapshot))
    title = pg.locator(f"{IN_CHART} rect.bar title").first.text_content()
    assert " UTC · stripe: " in title
    # the examples and reasons, as text
    assert pg.get_by_text("HTTP 400: customer 'c-1' unknown").is_visible()
    assert pg.get_by_role("row", name="missing_required").is_visible()
    # the XSS payload is shown as text, never run
    assert pg.get_by_role("heading", name=XSS).is_visible()
    assert pg.evaluate("window.__pwned") is None
    assert pg.locator("img").count() == 0
    # backlog, lag, limiter headroom
    assert pg.locator(".tile", has_text="outbox").first.inner_text().split("\n")[1] == "4"
    assert "0.8 s / 2.5 s" in pg.locator(".tile", has_text="lag p50").first.inner_text()
    fill = pg.locator('.limit[data-key="profile"] .fill').bounding_box()
    track = pg.locator('.limit[data-key="profile"] .meter').bounding_box()
    assert fill["width"] / track["width"] == pytest.approx(12 / 50, abs=0.01)
    pg.screenshot(path=str(tmp_path / "status-minutes.png"), full_page=True)
    # switch to the last 24 hours: hour charts shown, minute charts hidden
    hours_chart = IN_CHART.replace("minutes", "hours")
    assert not pg.locator(hours_chart).is_visible()
    pg.get_by_role("button", name="Last 24 hours, per hour").click()
    assert pg.locator(hours_chart).is_visible() and not pg.locator(IN_CHART).is_visible()
    assert pg.get_by_role("button", name="Last 24 hours, per hour").get_attribute("aria-pressed") == "true"
    _assert_proportional(_stack_heights(pg, hours_chart), _in_totals(s.snapshot, "hours"))
    pg.screenshot(path=str(tmp_path / "status-hours.png"), full_page=True)
    if os.environ.get("EBI_MAPPER_STATUS_SCREENSHOTS"):  # to look at the page: set it to a folder
        for name in ("status-minutes.png", "status-hours.png"):
            Path(os.environ["EBI_MAPPER_STATUS_SCREENSHOTS"], name).write_bytes((tmp_path / name).read_bytes())
    assert errors == []


def test_refresh_updates_numbers_and_bars_in_place_and_reloads_on_a_new_shape(site, page):
    s, url = site
    pg, errors = page
    pg.goto(url)
    pg.wait_for_selector(IN_CHART)
    pg.get_by_role("button", name="Last 24 hours, per hour").click()
    pg.evaluate("window.__same_page = true")
    outbox = pg.locator(".tile", has_text="outbox").first.locator("[data-path]")
    # same shape, new numbers: updated in place from status.json (no reload)
    with s.lock:
        fresh = make_snapshot(seed=9, now=s.snapshot["generated_at"] + 60)
        fresh["mappings"][0]["backlog"]["outbox_events"] = 1234
        fresh["mappings"][0]["rejections"][0]["count"] = 99
        fresh["mappings"][0]["optimove"]["limiter"][0]["used"] = 45
        s.snapshot = fresh
    loads = s.page_loads
    pg.wait_for_function("() => document.querySelector('.tile [data-path$=\"outbox_events\"]').textContent === '1,234'",
                         timeout=8000)
    assert outbox.text_content() == "1,234"
    assert pg.evaluate("window.__same_page") is True and s.page_loads == loads
    assert pg.get_by_role("row", name="missing_required").locator("td").first.text_content() == "99"
    _assert_proportional(_stack_heights(pg, IN_CHART.replace("minutes", "hours")), _in_totals(fresh, "hours"))
    pg.wait_for_function("() => Math.abs(parseFloat(document.querySelector('.limit[data-key=\"profile\"] .fill')"
                         ".style.width) - 90) < 0.1", timeout=8000)
    assert pg.locator(".view-hours").first.is_visible()  # the chosen view survives
    # what the script drew agrees with what the server renders for the same snapshot
    server_drawn = pg.context.new_page()
    server_drawn.goto(url)
    take = "() => [document.querySelector('main').textContent, [...document.querySelectorAll('rect.bar')].map(r => [r.getAttribute('y'), r.getAttribute('height')].map(Number))]"
    (text_js, rects_js), (text_py, rects_py) = pg.evaluate(take), server_drawn.evaluate(take)
    assert text_js == text_py
    assert len(rects_js) == len(rects_py)
    for a, b in zip(rects_js, rects_py, strict=True):
        assert a == pytest.approx(b, abs=0.011)
    server_drawn.close()
    # a new rejection code changes the page's shape: it reloads and shows it, in the same view
    with s.lock:
        newer = copy.deepcopy(fresh)
        newer["mappings"][0]["rejections"].append(
            {"code": "unknown_event", "count": 1, "example": {"source": "pam#5", "message": "no rule for 'bet'", "at": 0}})
        s.snapshot = newer
    pg.get_by_role("row", name="unknown_event").wait_for(timeout=8000)
    assert pg.evaluate("window.__same_page") is None and s.page_loads > loads
    assert pg.locator(".view-hours").first.is_visible()
    assert errors == []


def test_a_failing_status_json_is_said_on_the_page(site, page):
    s, url = site
    pg, errors = page
    pg.goto(url)
    with s.lock:
        s.json_status = 503
    pg.wait_for_function("() => document.querySelector('.stale').textContent.includes('HTTP 503')", timeout=8000)
    assert pg.locator(IN_CHART).is_visible()  # the last figures stay
    # the browser itself logs the failed request; nothing else may fail
    assert [e for e in errors if "503" not in e] == []
