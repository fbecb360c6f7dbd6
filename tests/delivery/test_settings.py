"""Reading `delivery:` settings, building sinks, the rate plan, and the progress reporter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ebi_mapper.cli.cmd_run import ProgressReporter
from ebi_mapper.delivery.pipeline import Progress
from ebi_mapper.delivery.ratelimit import Limit
from ebi_mapper.delivery.rateplan import BESPOKE_CLASS, make_rate_plan
from ebi_mapper.delivery.settings import make_sinks, parse_key_values, read_delivery_settings
from ebi_mapper.errors import DeliveryError, UnknownNameError
from ebi_mapper.plugins import make_registry


def test_rate_plan_from_the_catalog(catalog):
    plan = make_rate_plan(catalog)
    assert plan.class_of("ootb_registration") == plan.class_of("ootb_user_details_update") == "profile"
    assert plan.class_of("ootb_deposit") == "default"
    assert plan.limits["profile"] == Limit(50, 10.0) and plan.global_limit == Limit(10_000, 1.0)
    assert plan.batch_sizes["profile"] == 10 and plan.limits[BESPOKE_CLASS] is None


def test_cli_limits_win_over_the_mapping_and_batch_size_is_capped(catalog):
    plan = make_rate_plan(catalog, delivery={"limits": {"profile": "100/10s", "global": "none"}, "batch_size": 50},
                          overrides={"profile": "70/10s"})
    assert plan.limits["profile"] == Limit(70, 10.0) and plan.global_limit is None
    assert plan.batch_sizes["default"] == 10  # never above Optimove's 10 per request


def test_unknown_rate_class_is_refused(catalog):
    with pytest.raises(DeliveryError, match="unknown rate class 'vip'"):
        make_rate_plan(catalog, overrides={"vip": "1/1s"})


def test_settings_merge_and_validate(mapping, catalog, tmp_path):
    m = replace(mapping, delivery={"sink": "jsonl", "sink_options": {"path": "a.jsonl"}, "linger_ms": 250, "concurrency": 2})
    s = read_delivery_settings(m, catalog=catalog, sink_options={"path": "b.jsonl"}, state_dir=tmp_path,
                               overrides={"concurrency": 6, "linger_ms": None})
    assert s.sink == "jsonl" and s.sink_options["path"] == "b.jsonl" and s.sink_options["tenant"] == 567
    assert s.options.linger == 0.25 and s.options.concurrency == 6 and s.state_dir == tmp_path
    assert s.bespoke_route == "data_studio"
    with pytest.raises(DeliveryError, match="unknown key"):
        read_delivery_settings(replace(mapping, delivery={"lingr_ms": 5}), catalog=catalog)


def test_bespoke_route_must_name_a_bespoke_sink(mapping, catalog, tmp_path):
    bad = replace(mapping, bespoke=replace(mapping.bespoke, route="jsonl"))
    s = read_delivery_settings(bad, catalog=catalog, sink="jsonl", sink_options={"path": str(tmp_path / "o.jsonl")})
    with pytest.raises(DeliveryError, match="never go to the OOTB events sink"):
        make_sinks(make_registry(entry_points=False), s)
    unknown = read_delivery_settings(mapping, catalog=catalog, sink="nope")
    with pytest.raises(UnknownNameError):
        make_sinks(make_registry(entry_points=False), unknown)


def test_parse_key_values():
    assert parse_key_values(["a=1", "b=x=y"], "--sink-option") == {"a": "1", "b": "x=y"}
    with pytest.raises(DeliveryError):
        parse_key_values(["novalue"], "--sink-option")


def test_plain_progress_lines(capsys):
    reporter = ProgressReporter(True, live=False)
    with reporter:
        reporter(Progress(elapsed=2.0, records_read=100, records_per_second=50.0, sent=90, rejected=3, dead_lettered=1,
                          backlog=7, in_flight=2))
    err = capsys.readouterr().err
    assert "records=100 rate=50/s sent=90 rejected=3 dead_lettered=1 backlog=7 in_flight=2" in err


def test_progress_can_be_off(capsys):
    reporter = ProgressReporter(False, live=True)
    with reporter:
        reporter(Progress(1.0, 1, 1.0, 1, 0, 0, 0, 0))
    assert capsys.readouterr().err == ""
