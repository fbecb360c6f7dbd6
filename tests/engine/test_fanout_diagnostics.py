"""Fan-out diagnostics name the element: item index and key in rejections, dead letters, map rejects and explain.

Issue #11 item 18: with `each`, a rejection said only which rule failed, not which of the order's
lines; `explain` printed the same field lines once per element with no header; a failing guard
was named by its Python function, not as the docs name it.
"""

from __future__ import annotations

import json

import orjson
import pytest

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.cli import main
from ebi_mapper.delivery.state import open_state
from ebi_mapper.engine import Trace

from .conftest import NOW
from .test_mapper import ECOM

ORDER = {
    "topic": "orders/create", "id": 1001, "created_at": "2026-11-10T10:00:00Z", "currency": "USD", "customer": {"id": 77},
    "line_items": [
        {"id": 1, "product_id": 10, "price": "9.99", "quantity": 2},
        {"id": 2, "product_id": 11, "price": "nine", "quantity": 1},
        {"id": 3, "product_id": 12, "price": 5, "quantity": 1},
    ],
}
KEY = "ootb_order_id=1001, ootb_item_order_id=2, ootb_product_id=11"


@pytest.fixture
def mapping_path(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(ECOM)
    return path


@pytest.mark.parametrize("path", ["fast", "reference", "trace"])
def test_a_rejection_names_the_element_by_index_and_key(mapping_path, path):
    mapper = compile_mapping(load_mapping(mapping_path), fast=path == "fast")
    result = mapper.map_record(ORDER, source="in:1", now=NOW, trace=Trace() if path == "trace" else None)
    [rejection] = result.rejections
    assert (rejection.item, rejection.item_key, rejection.field) == (1, KEY, "$.context.ootb_item_price")
    assert rejection.to_dict()["item"] == 1 and rejection.to_dict()["item_key"] == KEY
    assert [e.context["ootb_item_order_id"] for e in result.events] == ["1", "3"]


def test_a_rule_without_each_has_no_item(tmp_path):
    from .conftest import BASE, DEPOSIT_RULE, deposit_payload

    path = tmp_path / "m.yaml"
    path.write_text(BASE + "rules:\n" + DEPOSIT_RULE)
    [rejection] = compile_mapping(load_mapping(path)).map_record(deposit_payload(amount="x"), now=NOW).rejections
    assert rejection.item is None and "item" not in rejection.to_dict()


def test_explain_prints_a_header_per_item(mapping_path, tmp_path, capsys):
    payload = tmp_path / "order.json"
    payload.write_text(json.dumps(ORDER))
    assert main(["explain", str(mapping_path), str(payload), "--now", "2026-12-15T12:00:00Z"]) == 1
    out = capsys.readouterr().out
    for index, line_id in enumerate((1, 2, 3)):
        assert f"item {index} (ootb_order_id=1001, ootb_item_order_id={line_id}" in out
    assert f"item 1 ({KEY})" in out.split("rejected")[1]  # the rejection line names the element too


def test_map_rejects_and_run_dead_letters_name_the_element(mapping_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps(ORDER) + b"\n")
    rejects = tmp_path / "rejects.jsonl"
    assert main(["map", str(mapping_path), str(src), "-o", str(tmp_path / "out.jsonl"), "--rejects", str(rejects), "--now", "2026-12-15T12:00:00Z"]) == 1
    [row] = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert (row["rejections"][0]["item"], row["rejections"][0]["item_key"]) == (1, KEY)
    assert main(["run", str(mapping_path), "--input", str(src), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'sent.jsonl'}", "--linger-ms", "1", "--no-progress"]) == 1
    with open_state(tmp_path / "state") as state:
        [letter] = state.dead_letters()
    assert (letter.reasons[0]["item"], letter.reasons[0]["item_key"]) == (1, KEY)
