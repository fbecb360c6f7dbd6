"""A local stand-in for Optimove's events endpoint, for tests and for rehearsing integrations.

It validates events against the bundled schemas, enforces ≤ 10 events per request and the
catalog's rate classes (429 + Retry-After), stores what it accepts in SQLite idempotently by PK,
reports what it received, and injects faults on request. See ``docs/sandbox.md``.
"""

from __future__ import annotations

from .app import Reply, SandboxApp, make_sandbox_app
from .config import (
    DEFAULT_ATTRIBUTES_PATH,
    DEFAULT_AUTH_HEADER,
    DEFAULT_PATH,
    DEFAULT_TOKEN,
    DEFAULT_VERTICAL,
    SandboxConfig,
    SandboxConfigError,
    make_sandbox_config,
    parse_rate_limit,
)
from .faults import FAULT_KINDS, FaultError, FaultInjector, FaultPlan, make_fault_plan
from .server import SandboxHandle, SandboxServer, make_sandbox_server, start_sandbox

__all__ = [
    "DEFAULT_ATTRIBUTES_PATH",
    "DEFAULT_AUTH_HEADER",
    "DEFAULT_PATH",
    "DEFAULT_TOKEN",
    "DEFAULT_VERTICAL",
    "FAULT_KINDS",
    "FaultError",
    "FaultInjector",
    "FaultPlan",
    "Reply",
    "SandboxApp",
    "SandboxConfig",
    "SandboxConfigError",
    "SandboxHandle",
    "SandboxServer",
    "make_fault_plan",
    "make_sandbox_app",
    "make_sandbox_config",
    "make_sandbox_server",
    "parse_rate_limit",
    "start_sandbox",
]
