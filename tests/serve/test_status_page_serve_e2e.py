"""The status page of a real `ebi-mapper serve` (admin token) in headless Chromium, with real data.

Webhooks are posted to the service (signed Stripe events, unsigned PAM records, a bad one, a
forged one); the page then shows them: records in per source, events out, the refusal and the
rejection with its example. Then more webhooks arrive and the page's own refresh (its timer run
forward by Playwright's clock) shows the new figures without a reload.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from ebi_mapper.serve.signers import sign_headers

from .serve_helpers import STRIPE_SECRET, ServeProcess, deposit, wait_until
from .status_browser import chromium, watch_errors

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = "status-e2e-admin-token-41c7"
JSON = {"content-type": "application/json"}


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from ebi_mapper.sandbox import start_sandbox

    with start_sandbox(vertical="multi_sport_casino", tenant=567) as sb:
        yield sb


def _stripe(c: httpx.Client, evt: str, tx: str) -> int:
    body = orjson.dumps({"id": evt, **deposit(tx, amount=7)})
    return c.post("/in/acme/stripe", content=body, headers={**JSON, **sign_headers("stripe", STRIPE_SECRET, body)}).status_code


def _settled(c: httpx.Client, delivered: int, rejected: int = 0) -> Any:
    snap = c.get("/status.json").json()
    minutes = snap["mappings"][0]["minutes"]
    done = sum(minutes["delivered"].get("ootb_deposit", [])) >= delivered and sum(minutes["rejected"]) >= rejected
    return snap if done else None


def test_the_status_page_of_a_real_service(sandbox, tmp_path):
    admin = {"authorization": f"Bearer {ADMIN}"}
    env = {"EBI_MAPPER_ADMIN_TOKEN": ADMIN}
    with ServeProcess(tmp_path / "state", sandbox.endpoint, env=env) as sp, \
            httpx.Client(base_url=sp.url, headers=admin) as c, chromium() as browser:
        assert all(_stripe(c, f"evt_{i}", f"s{i}") == 202 for i in range(3))
        for i in range(5):
            assert c.post("/in/acme-casino/pam", content=orjson.dumps(deposit(f"p{i}")), headers=JSON).status_code == 202
        bad = {**deposit("bad"), "amount": "<b>lots</b>"}
        assert c.post("/in/acme-casino/pam", content=orjson.dumps(bad), headers=JSON).status_code == 202
        forged = orjson.dumps({"id": "evt_forged", **deposit("f1")})
        assert c.post("/in/acme/stripe", content=forged, headers={**JSON, "stripe-signature": "t=1,v1=00"}).status_code == 401
        wait_until(lambda: _settled(c, 8, 1), timeout=30, what="8 deposits delivered, 1 record rejected")

        context = browser.new_context(extra_http_headers=admin, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors = watch_errors(page)
        page.clock.install()
        page.goto(sp.url + "/")
        assert page.get_by_role("heading", name="acme-casino").is_visible()
        tiles = {t.locator(".label").inner_text().lower(): t.locator(".value").inner_text()
                 for t in page.locator(".view-minutes .tile").all()}
        assert tiles["received"] == "9" and tiles["delivered"] == "8" and tiles["refused"] == "1", tiles
        assert tiles["rejected"] == "1", tiles
        legend = page.locator('svg[data-chart="mappings.0.minutes"][data-src="received"] + ul.legend').inner_text()
        assert "stripe 3" in legend.replace("\n", " ") and "pam 6" in legend.replace("\n", " ")
        problems = page.locator('svg[data-chart="mappings.0.minutes"][data-src="refused,rejected,dead_lettered"] rect.bar')
        assert any(float(r.get_attribute("height")) > 0 for r in problems.all())
        row = page.get_by_role("row").filter(has_text="coerce_failed")
        assert row.is_visible() and "<b>lots</b>" in row.inner_text()  # the payload's markup, as text
        assert page.locator("b", has_text="lots").count() == 0
        page.screenshot(path=str(tmp_path / "serve-status.png"), full_page=True)

        # more webhooks; the page's refresh timer (10 s) run forward: figures change in place
        page.evaluate("window.__same_page = true")
        assert all(_stripe(c, f"evt_more_{i}", f"m{i}") == 202 for i in range(4))
        wait_until(lambda: _settled(c, 12, 1), timeout=30, what="12 deposits delivered")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page.clock.run_for(11_000)
            received = page.locator(".view-minutes .tile", has_text="received").locator(".value").inner_text()
            if received == "13":
                break
            page.wait_for_timeout(200)
        assert received == "13"
        assert page.evaluate("window.__same_page") is True
        assert errors == []
        context.close()
