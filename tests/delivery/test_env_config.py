"""Delivery settings from the environment: ``${VAR}`` / ``${VAR:-default}`` in ``delivery:``, and EBI_MAPPER_*.

Issue #11 item 20: one mapping serves staging and production. A missing variable with no default
is a config error naming the variable (never a value); values from the environment never appear
in errors.
"""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from delivery_helpers import MAPPING
from ebi_mapper.cli import main
from ebi_mapper.default_plugins.http_sink import safe_url
from ebi_mapper.delivery.settings import read_delivery_settings
from ebi_mapper.errors import DeliveryError

SECRET = "s3cr3t-value-never-shown"


def _settings(mapping, catalog, delivery, environ, **kw):
    return read_delivery_settings(replace(mapping, delivery=delivery), catalog=catalog, environ=environ, **kw)


def test_variables_and_defaults_are_read_anywhere_in_delivery(mapping, catalog):
    delivery = {
        "sink": "${SINK:-optimove}",
        "sink_options": {"url": "https://${HOST}/v2/reportServer", "token_env": "TOKEN", "timeout": "${TIMEOUT:-10}"},
        "concurrency": "${CONCURRENCY:-4}",
        "state_dir": "${STATE:-/var/lib/ebi}/acme",
        "limits": {"profile": "${PROFILE_LIMIT:-50/10s}"},
    }
    staging = _settings(mapping, catalog, delivery, {"HOST": "staging.example", "CONCURRENCY": "2"})
    assert staging.sink == "optimove" and staging.sink_options["url"] == "https://staging.example/v2/reportServer"
    assert staging.sink_options["timeout"] == "10" and staging.options.concurrency == 2
    assert str(staging.state_dir) == "/var/lib/ebi/acme"
    prod = _settings(mapping, catalog, delivery, {"HOST": "prod.example", "SINK": "jsonl", "STATE": "/srv"})
    assert prod.sink == "jsonl" and prod.sink_options["url"] == "https://prod.example/v2/reportServer"
    assert str(prod.state_dir) == "/srv/acme" and prod.options.concurrency == 4


def test_an_empty_variable_takes_the_default_and_dollars_can_be_escaped(mapping, catalog):
    s = _settings(mapping, catalog, {"sink_options": {"a": "${EMPTY:-d}", "b": "$${NOT_A_VAR}", "c": "cost $5"}}, {"EMPTY": ""})
    assert (s.sink_options["a"], s.sink_options["b"], s.sink_options["c"]) == ("d", "${NOT_A_VAR}", "cost $5")


def test_a_missing_variable_is_a_config_error_naming_it_and_no_value(mapping, catalog):
    with pytest.raises(DeliveryError) as caught:
        _settings(mapping, catalog, {"sink_options": {"url": "https://${OPTIMOVE_HOST}/x", "token": "${TOKEN}"}}, {"TOKEN": SECRET})
    message = str(caught.value)
    assert "OPTIMOVE_HOST" in message and "delivery.sink_options.url" in message and SECRET not in message


def test_a_malformed_reference_is_refused(mapping, catalog):
    with pytest.raises(DeliveryError, match=r"delivery.sink_options.url: '\$\{' must start \$\{NAME\}"):
        _settings(mapping, catalog, {"sink_options": {"url": "https://${host name}/x"}}, {})


def test_a_bad_number_from_the_environment_names_the_variable_not_the_value(mapping, catalog):
    with pytest.raises(DeliveryError) as caught:
        _settings(mapping, catalog, {"concurrency": "${CONC}"}, {"CONC": SECRET})
    assert "delivery.concurrency" in str(caught.value) and "${CONC}" in str(caught.value) and SECRET not in str(caught.value)


def test_ebi_mapper_variables_set_sink_url_and_state_dir(mapping, catalog, tmp_path):
    environ = {"EBI_MAPPER_SINK": "jsonl", "EBI_MAPPER_SINK_URL": "https://env.example/x", "EBI_MAPPER_STATE_DIR": str(tmp_path / "st")}
    s = _settings(mapping, catalog, {"sink": "optimove", "sink_options": {"url": "https://file.example/x"}, "state_dir": "other"}, environ)
    assert (s.sink, s.sink_options["url"], s.state_dir) == ("jsonl", "https://env.example/x", tmp_path / "st")
    # the command line still wins over the environment
    s = _settings(mapping, catalog, {}, environ, sink="optimove", sink_options={"url": "https://cli.example/x"}, state_dir=tmp_path / "cli")
    assert (s.sink, s.sink_options["url"], s.state_dir) == ("optimove", "https://cli.example/x", tmp_path / "cli")


def test_run_and_dlq_read_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps({"type": "deposit", "player": 1, "tx": "a", "amount": "12,5", "currency": "EUR", "at": "2025-01-01T00:00:00Z"}) + b"\n")
    monkeypatch.setenv("EBI_MAPPER_STATE_DIR", str(tmp_path / "env-state"))
    monkeypatch.setenv("EBI_MAPPER_SINK", "jsonl")
    assert main(["run", str(MAPPING), "--input", str(src), "--sink-option", f"path={tmp_path / 'out.jsonl'}", "--no-progress", "--linger-ms", "1"]) == 1
    assert (tmp_path / "env-state" / "state.sqlite").is_file()
    capsys.readouterr()
    assert main(["dlq", "list"]) == 0  # --state-dir from EBI_MAPPER_STATE_DIR
    assert "1 dead letter(s)" in capsys.readouterr().out


def test_run_with_a_missing_variable_exits_3_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text() + "\ndelivery:\n  sink: jsonl\n  sink_options: {path: \"${OUT_DIR}/out.jsonl\"}\n")
    monkeypatch.delenv("OUT_DIR", raising=False)
    src = tmp_path / "in.jsonl"
    src.write_text("")
    assert main(["run", str(mapping), "--input", str(src), "--state-dir", str(tmp_path / "st"), "--no-progress"]) == 3
    assert "OUT_DIR" in capsys.readouterr().err


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:pa55@host.example:8443/v2/reportServer?key=abc", "https://host.example:8443/v2/reportServer"),
    ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
])
def test_urls_in_messages_lose_credentials_and_queries(url, shown):
    assert safe_url(url) == shown
