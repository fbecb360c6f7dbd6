"""Headless Chromium for the status-page tests (Debian's chromium-headless-shell via Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM_HELP = ("EBI_MAPPER_TEST_CHROMIUM is empty: the status page is tested in a real headless Chromium. "
                 "Run the tests through ./scripts/test (it installs Debian's chromium-headless-shell when it can), "
                 "or install it (sudo apt-get install chromium-headless-shell) and export "
                 "EBI_MAPPER_TEST_CHROMIUM=$(command -v chromium-headless-shell).")


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser; the test FAILS (never skips) with how to install one when there is none."""
    path = os.environ.get("EBI_MAPPER_TEST_CHROMIUM", "")
    if not path:
        pytest.fail(CHROMIUM_HELP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of ``page``, collected as they happen."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors
