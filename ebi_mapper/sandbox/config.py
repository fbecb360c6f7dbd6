"""The sandbox's settings, checked once when the server is made.

Where Optimove's real behaviour is unknown, the default here is a recorded choice (see
``docs/sandbox.md``): the path is the partner-documented ``/v2/reportServer``, the token travels
in an ``X-Api-Key`` header, a batch with any invalid event is refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import EbiMapperError
from .faults import FaultPlan, make_fault_plan

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_ATTRIBUTES_PATH",
    "DEFAULT_AUTH_HEADER",
    "DEFAULT_TOKEN",
    "DEFAULT_VERTICAL",
    "SandboxConfigError",
    "SandboxConfig",
    "make_sandbox_config",
    "parse_rate_limit",
]

# Recorded choices (the real values are not in the stored Optimove docs).
DEFAULT_PATH = "/v2/reportServer"  # https://server-xxx.optimove.net/v2/reportServer (Extole's page)
DEFAULT_ATTRIBUTES_PATH = "/v2/attributes"  # the sandbox's own stand-in for API Attributes
DEFAULT_AUTH_HEADER = "X-Api-Key"  # header name unknown; Optimove's REST API uses X-API-KEY
DEFAULT_TOKEN = "sandbox-token"
DEFAULT_VERTICAL = "multi_sport_casino"


class SandboxConfigError(EbiMapperError, ValueError):
    """A sandbox option that makes no sense."""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the sandbox server needs to know.

    ``token=None`` turns authentication off. ``tenant=None`` accepts any tenant. ``rate_limits``
    overrides catalog rate classes as ``(class, requests, per_seconds)``; ``rate_limit=False``
    turns limiting off (arrivals are still measured for ``/stats``).
    """

    host: str = "127.0.0.1"
    port: int = 0
    db: str | None = None
    vertical: str = DEFAULT_VERTICAL
    tenant: int | None = None
    token: str | None = DEFAULT_TOKEN
    auth_header: str = DEFAULT_AUTH_HEADER
    path: str = DEFAULT_PATH
    attributes_path: str = DEFAULT_ATTRIBUTES_PATH
    max_events: int = 10
    max_body_bytes: int = 1_048_576
    rate_limits: tuple[tuple[str, int, float], ...] = ()
    rate_limit: bool = True
    faults: FaultPlan = field(default_factory=FaultPlan)
    idle_timeout: float = 30.0  # seconds an idle keep-alive connection is kept open

    def __repr__(self) -> str:
        # The sandbox token is a throwaway, but keep reprs token-free like the sinks'.
        return (f"SandboxConfig(host={self.host!r}, port={self.port}, vertical={self.vertical!r}, "
                f"tenant={self.tenant!r}, auth_header={self.auth_header!r}, path={self.path!r})")


_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


def parse_rate_limit(text: str) -> tuple[int, float]:
    """Parse ``"50/10"`` (requests per seconds) into ``(50, 10.0)``."""
    m = _LIMIT.match(str(text))
    if not m or int(m.group(1)) < 1 or float(m.group(2)) <= 0:
        raise SandboxConfigError(f"rate limit {text!r} is not REQUESTS/SECONDS, e.g. 50/10")
    return int(m.group(1)), float(m.group(2))


def _limits(value: Any) -> tuple[tuple[str, int, float], ...]:
    if not value:
        return ()
    items: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = []
        for entry in value:
            if isinstance(entry, str):
                name, _, spec = entry.partition("=")
                items.append((name.strip(), spec))
            else:
                items.append((entry[0], tuple(entry[1:]) if len(entry) > 2 else entry[1]))
    out = []
    for name, spec in items:
        if not name:
            raise SandboxConfigError("a rate limit override needs a class name, e.g. profile=5/1")
        if isinstance(spec, str):
            requests, per = parse_rate_limit(spec)
        else:
            try:
                requests, per = int(spec[0]), float(spec[1])
            except (TypeError, ValueError, IndexError) as exc:
                raise SandboxConfigError(f"rate limit for {name!r} must be (requests, seconds), got {spec!r}") from exc
            if requests < 1 or per <= 0:
                raise SandboxConfigError(f"rate limit for {name!r} must be positive, got {spec!r}")
        out.append((str(name), requests, per))
    return tuple(out)


def make_sandbox_config(**options: Any) -> SandboxConfig:
    """Check and normalise sandbox options (the keyword names are the fields of :class:`SandboxConfig`).

    ``faults`` may be a :class:`FaultPlan` or the dict ``POST /_faults`` takes; ``rate_limits``
    a dict ``{"profile": (5, 1.0)}`` or ``{"profile": "5/1"}`` or a list of ``"profile=5/1"``.
    """
    known = set(SandboxConfig.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise SandboxConfigError(f"unknown sandbox option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    faults = options.pop("faults", None)
    if faults is None:
        faults = FaultPlan()
    elif not isinstance(faults, FaultPlan):
        faults = make_fault_plan(faults)
    options["rate_limits"] = _limits(options.get("rate_limits"))
    for key in ("path", "attributes_path"):
        if key in options and not str(options[key]).startswith("/"):
            raise SandboxConfigError(f"sandbox {key} must start with '/', got {options[key]!r}")
    if options.get("tenant") is not None:
        try:
            options["tenant"] = int(options["tenant"])
        except (TypeError, ValueError) as exc:
            raise SandboxConfigError(f"tenant must be an integer, got {options['tenant']!r}") from exc
    if options.get("db") is not None:
        options["db"] = str(options["db"])
    if options.get("auth_header") is not None and not str(options["auth_header"]).strip():
        raise SandboxConfigError("auth_header must be a header name")
    port = options.get("port", 0)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise SandboxConfigError(f"port must be 0..65535, got {port!r}")
    if int(options.get("max_events", 10)) < 1:
        raise SandboxConfigError("max_events must be at least 1")
    return SandboxConfig(faults=faults, **options)
