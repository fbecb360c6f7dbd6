"""The status page's markup: self-contained, escaped, proportional bars, robust to odd snapshots."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper import secrets
from ebi_mapper.serve.status_page import EXAMPLE_LIMIT, PLOT_H, render

from .status_helpers import XSS, make_snapshot


class _Collect(HTMLParser):
    """Start tags with their attributes, and the text of ``<title>`` / ``<q>`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {"q": [], "h2": [], "title": []}
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.texts:
            self._open.append(tag)
            self.texts[tag].append("")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        for tag in self._open:
            self.texts[tag][-1] += data


def _parse(page: str) -> _Collect:
    parser = _Collect()
    parser.feed(page)
    parser.close()
    return parser


def test_one_self_contained_page():
    page = render(make_snapshot())
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    tags = _parse(page).tags
    assert not [t for t, a in tags if t == "link"]
    for tag, attrs in tags:
        for name in ("src", "href", "action"):
            assert attrs.get(name) is None, (tag, attrs)  # nothing fetched from anywhere
    assert not re.search(r"https?://", page.replace("http://www.w3.org", ""))
    assert page.count("<script") == 1  # ours, inline


def test_data_is_escaped_everywhere():
    page = render(make_snapshot())
    assert XSS not in page and "<img" not in page
    parsed = _parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 1 and not [t for t, _ in parsed.tags if t == "img"]
    assert XSS in parsed.texts["h2"][1]  # shown as text
    assert any(XSS in q for q in parsed.texts["q"])


def test_bars_are_proportional_to_the_data():
    snap = make_snapshot(seed=3)
    page = render(snap)
    view = snap["mappings"][0]["minutes"]
    totals = [view["received"]["stripe"][i] + view["received"]["pam"][i] for i in range(60)]
    top = 10 ** math.floor(math.log10(max(totals)))
    top = next(s * top for s in (1, 2, 5, 10) if s * top >= max(totals))
    svg = page.split('data-chart="mappings.0.minutes" data-src="received"', 1)[1].split("</svg>", 1)[0]
    heights: dict[int, float] = {}
    for h, k, i in re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"[^>]*data-k="(\d+)" data-i="(\d+)"', svg):
        assert k in ("0", "1")
        heights[int(i)] = heights.get(int(i), 0.0) + float(h)
    assert len(heights) == 60
    for i, total in enumerate(totals):
        assert heights[i] == pytest.approx(total / top * PLOT_H, abs=0.02), i
    assert 'data-role="ymax">' in svg


def test_examples_are_redacted_and_cut_to_300_characters():
    secrets.clear()
    secrets.register("tok_live_abcdef123456")
    try:
        snap = make_snapshot(xss=False)
        snap["mappings"][0]["dead_letters"][0]["example"]["message"] = "upstream echoed tok_live_abcdef123456 " + "x" * 500
        page = render(snap)
    finally:
        secrets.clear()
    assert "tok_live_abcdef123456" not in page
    quotes = _parse(page).texts["q"]
    assert all(len(q) <= EXAMPLE_LIMIT for q in quotes)
    assert any(q.startswith("upstream echoed *** xxx") and q.endswith("…") for q in quotes)


def test_an_empty_or_sparse_snapshot_renders():
    assert "No mapping is served." in render({})
    page = render({"mappings": [{"client": "c"}], "generated_at": "soon"})
    assert "nothing in this period" in page and "No rejections." in page and "No limiter figures." in page


_text = st.text(alphabet=st.sampled_from(list("<>&\"'ab/ =")), max_size=12)
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _text,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=12)
_keys = st.sampled_from(["client", "tenant", "sources", "minutes", "hours", "rejections", "dead_letters", "backlog",
                         "lag_seconds", "optimove", "received", "starts", "count", "example", "limiter", "message"])


@settings(max_examples=60, deadline=None)
@given(mapping=st.dictionaries(_keys, _json | st.dictionaries(_keys, _json, max_size=5), max_size=8),
       top=st.dictionaries(st.sampled_from(["generated_at", "started_at", "version"]), _json, max_size=3))
def test_any_snapshot_renders_and_no_data_becomes_markup(mapping, top):
    """Whatever the producer puts in a snapshot (wrong types, NaN, markup), render answers a page."""
    try:
        page = render({**top, "mappings": [mapping]})
    except (TypeError, AttributeError, ValueError) as exc:  # pragma: no cover - the failure to report
        pytest.fail(f"render raised {exc!r}")
    parsed = _parse(page)
    assert {t for t, _ in parsed.tags} <= {"html", "head", "meta", "title", "style", "noscript", "body", "header", "h1",
                                           "p", "span", "time", "div", "button", "main", "section", "h2", "small", "ul",
                                           "li", "b", "code", "h3", "svg", "line", "text", "rect", "figure",
                                           "figcaption", "table", "thead", "tr", "th", "tbody", "td", "q", "footer",
                                           "script"}
