"""The serve: section: an open endpoint must be said out loud; errors are one line and exit 3."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from ebi_mapper.serve.config import ServeConfigError, read_serve_config

from .serve_helpers import MAPPING


def mapping(serve):
    return SimpleNamespace(client="acme", serve=serve)


def test_defaults_and_paths():
    cfg = read_serve_config(mapping({"sources": [{"name": "default", "auth": {"scheme": "none"}},
                                                 {"name": "shop", "auth": {"scheme": "none"}, "formats": ["json"]}]}), {})
    assert [(s.name, s.path, s.formats) for s in cfg.sources] == [
        ("default", "/in/acme", ("json", "ndjson")), ("shop", "/in/acme/shop", ("json",))]
    assert cfg.max_body_bytes == 1_048_576 and cfg.max_backlog == 100_000 and cfg.min_free_disk_mb == 256


@pytest.mark.parametrize("serve, message", [
    ({}, "no serve.sources"),
    ({"sources": [{"name": "a"}]}, "has no auth"),
    ({"sources": [{"name": "a", "auth": {"scheme": "api_key", "secret_env": "NOT_SET_ANYWHERE_1"}}]}, "NOT_SET_ANYWHERE_1"),
    ({"sources": [{"name": "a", "auth": {"scheme": "none"}}, {"name": "b", "path": "/in/acme/a", "auth": {"scheme": "none"}}]}, "share a path"),
    ({"sources": [{"name": "a", "auth": {"scheme": "none"}, "formats": ["xml"]}]}, "unknown xml"),
    ({"sources": [{"name": "a", "auth": {"scheme": "none"}}], "max_backlog": "lots"}, "serve.max_backlog"),
    ({"sources": [{"name": "a", "auth": {"scheme": "none"}}], "colour": 1}, "unknown key"),
])
def test_refusals(serve, message):
    with pytest.raises(ServeConfigError, match=message):
        read_serve_config(mapping(serve), {})


def test_cli_refuses_a_source_without_auth(tmp_path):
    text = MAPPING.read_text().replace("      auth: {scheme: none}\n", "", 1)
    bad = tmp_path / "open.yaml"
    bad.write_text(text)
    out = subprocess.run([sys.executable, "-m", "ebi_mapper", "serve", str(bad), "--port", "0", "--state-dir", str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "TEST_SERVE_KEY": "k"})
    assert out.returncode == 3
    # the mapping's schema says it first (file:line:col), with no traceback
    assert "serve.sources[0]: 'auth' is a required property" in out.stderr and "Traceback" not in out.stderr
