"""Read a mapping's ``serve:`` section: its sources (path, auth, formats) and its bounds.

::

    serve:
      sources:                       # one per sender; default: one source 'default' at /in/<client>
        - name: stripe
          path: /in/acme/stripe      # default /in/<client>/<name>
          auth: {scheme: stripe, secret_env: ACME_STRIPE_SECRET}
          formats: [json, ndjson]    # default [json, ndjson]
      max_body_bytes: 1048576
      max_backlog: 100000            # records accepted, not yet ingested → 429 + Retry-After
      min_free_disk_mb: 256          # → 503 + Retry-After
      body_timeout_seconds: 10       # a body that has not arrived by then → 408
      dedup_window: 7d               # how long a webhook id is remembered

Strings read the environment (``${VAR}``) as ``delivery:`` does. A source must name its auth,
``{scheme: none}`` included: an open endpoint is a choice, never a default; without it serve
refuses to start (:class:`ServeConfigError`, exit 3). Proof: tests/serve/test_config.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..delivery.retention import parse_duration
from ..delivery.settings import interpolate_env
from ..errors import ConfigError, EbiMapperError
from .bodies import FORMATS

__all__ = ["ServeConfig", "SourceConfig", "ServeConfigError", "read_serve_config", "KNOWN_KEYS"]

KNOWN_KEYS = frozenset({"sources", "max_body_bytes", "max_backlog", "min_free_disk_mb", "body_timeout_seconds", "dedup_window"})
SOURCE_KEYS = frozenset({"name", "path", "auth", "formats"})


ServeConfigError = ConfigError  # a ``serve:`` section that cannot be used (names the key, never a secret)


@dataclass(frozen=True)
class SourceConfig:
    name: str
    path: str
    verifier: Any  # serve.auth.Verifier
    formats: tuple[str, ...]

    @property
    def scheme(self) -> str:
        return str(getattr(self.verifier, "scheme", "?"))


@dataclass(frozen=True)
class ServeConfig:
    sources: tuple[SourceConfig, ...]
    max_body_bytes: int = 1_048_576
    max_backlog: int = 100_000
    min_free_disk_mb: int = 256
    body_timeout: float = 10.0
    dedup_window: float = 7 * 86400.0


def _int(section: Mapping[str, Any], key: str, default: int, low: int) -> int:
    value = section.get(key, default)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ServeConfigError(f"serve.{key} must be a whole number, got {type(value).__name__}") from None
    if n < low:
        raise ServeConfigError(f"serve.{key} must be at least {low}, got {n}")
    return n


def read_serve_config(mapping: Any, environ: Mapping[str, str] | None = None) -> ServeConfig:
    """The ``serve:`` section of ``mapping`` (``${VAR}`` read from ``environ``), checked.

    :raises ServeConfigError: an unknown key, a source without ``auth``, a duplicate path, a
        verifier that cannot be built (its message names the missing variable).
    """
    from .auth import make_verifier

    env = os.environ if environ is None else environ
    try:
        section = interpolate_env(dict(getattr(mapping, "serve", None) or {}), env, "serve", {})
    except EbiMapperError as exc:
        raise ServeConfigError(str(exc)) from None
    unknown = sorted(set(section) - KNOWN_KEYS)
    if unknown:
        raise ServeConfigError(f"unknown key(s) in serve: {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    client = mapping.client or "default"
    raw_sources = section.get("sources")
    if raw_sources is None:
        raise ServeConfigError(f"mapping {client!r} has no serve.sources: say who may send, e.g. "
                               "serve: {sources: [{name: default, auth: {scheme: none}}]} for an open endpoint")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ServeConfigError("serve.sources must be a list of {name, path, auth, formats}")
    sources = []
    for i, src in enumerate(raw_sources):
        where = f"serve.sources[{i}]"
        if not isinstance(src, Mapping) or not src.get("name"):
            raise ServeConfigError(f"{where} needs a name")
        bad = sorted(set(src) - SOURCE_KEYS)
        if bad:
            raise ServeConfigError(f"unknown key(s) in {where}: {', '.join(bad)} (known: {', '.join(sorted(SOURCE_KEYS))})")
        name = str(src["name"])
        auth = src.get("auth")
        if not isinstance(auth, Mapping) or not auth.get("scheme"):
            raise ServeConfigError(f"{where} ({name}) has no auth: give one, or auth: {{scheme: none}} for an open endpoint")
        verifier = make_verifier(auth, env, where=f"{where}.auth ({name})")
        formats = tuple(src.get("formats") or ("json", "ndjson"))
        odd = [f for f in formats if f not in FORMATS]
        if odd:
            raise ServeConfigError(f"{where}.formats: unknown {', '.join(map(str, odd))} (known: {', '.join(FORMATS)})")
        path = str(src.get("path") or (f"/in/{client}" if name == "default" else f"/in/{client}/{name}"))
        if not path.startswith("/"):
            raise ServeConfigError(f"{where}.path must start with /, got {path!r}")
        sources.append(SourceConfig(name, path.rstrip("/") or "/", verifier, formats))
    paths = [s.path for s in sources]
    if len(set(paths)) != len(paths):
        raise ServeConfigError(f"serve.sources: two sources share a path ({', '.join(sorted({p for p in paths if paths.count(p) > 1}))})")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ServeConfigError("serve.sources: two sources share a name")
    try:
        window = parse_duration(section.get("dedup_window", "7d"), "serve.dedup_window")
    except EbiMapperError as exc:
        raise ServeConfigError(str(exc)) from None
    timeout = section.get("body_timeout_seconds", 10.0)
    try:
        body_timeout = float(timeout)
    except (TypeError, ValueError):
        raise ServeConfigError("serve.body_timeout_seconds must be a number") from None
    return ServeConfig(
        sources=tuple(sources),
        max_body_bytes=_int(section, "max_body_bytes", 1_048_576, 1),
        max_backlog=_int(section, "max_backlog", 100_000, 1),
        min_free_disk_mb=_int(section, "min_free_disk_mb", 256, 0),
        body_timeout=body_timeout,
        dedup_window=float(window) if window is not None else float("inf"),  # none: remembered for ever
    )
