"""Built-in sinks, registered through the public hooks like any third-party plugin.

* ``optimove`` — Optimove's events endpoint over HTTP (events).
* ``jsonl`` — JSON lines appended to a file (events).
* ``stdout`` — JSON lines on standard output (events).
* ``data_studio`` — one CSV per UTC day for a Data Studio upload (bespoke rows).
* ``api_attributes`` — bespoke rows POSTed to an HTTP endpoint (bespoke rows).

Option names, types and defaults are below; ``docs/sinks.md`` explains each choice.
"""

from __future__ import annotations

from typing import Any

from ..extensions import SendResult, SinkDef
from ..hookspecs import hookimpl
from ..plugin_kit import Option, option_help, read_options

__all__ = ["OPTIMOVE_OPTIONS", "JSONL_OPTIONS", "DATA_STUDIO_OPTIONS", "API_ATTRIBUTES_OPTIONS",
           "make_optimove_sink", "register_sinks"]

DEFAULT_TOKEN_ENV = "OPTIMOVE_TOKEN"
# Same default as the sandbox and the HTTP sink (the real header name is not in the stored
# Optimove docs); repeated here so that listing sinks does not import the HTTP client.
DEFAULT_AUTH_HEADER = "X-Api-Key"

OPTIMOVE_OPTIONS = {
    "url": Option(str, required=True, help="the events endpoint Optimove gave the client (…/v2/reportServer)"),
    "token_env": Option(str, DEFAULT_TOKEN_ENV, "environment variable holding the real-time token"),
    "auth_header": Option(str, DEFAULT_AUTH_HEADER, "request header that carries the token"),
    "timeout": Option(float, 10.0, "seconds to wait for connect, send and answer"),
    "tenant": Option(int, None, "when set, an event of another tenant is rejected before sending"),
    "trust_env": Option(bool, True, "honour HTTP(S)_PROXY / NO_PROXY and SSL_CERT_FILE from the environment"),
}
JSONL_OPTIONS = {
    "path": Option(str, required=True, help="file the events are appended to"),
    "fsync": Option(bool, False, "fsync after every batch (always on close)"),
}
DATA_STUDIO_OPTIONS = {
    "dir": Option(str, "data-studio", "folder the daily CSV files are written to"),
    "client": Option(str, None, "file name prefix (default: the mapping's client, else 'ebi')"),
    "customer_column": Option(str, "customer_id", "name of the customer id column"),
    "escape_formulas": Option(bool, True, "prefix text cells starting with = + - @ with a quote"),
    "flush_seconds": Option(float, 5.0, "rewrite changed CSV files at most this often while rows arrive"),
    "max_open_days": Option(int, 3, "days kept in memory at once"),
    "fsync": Option(bool, True, "fsync the journal before acknowledging a batch"),
}
API_ATTRIBUTES_OPTIONS = {
    "url": Option(str, required=True, help="the endpoint that takes bespoke attribute rows"),
    "token_env": Option(str, None, "environment variable holding the token (none: no auth header)"),
    "auth_header": Option(str, DEFAULT_AUTH_HEADER, "request header that carries the token"),
    "timeout": Option(float, 10.0, "seconds to wait for connect, send and answer"),
    "trust_env": Option(bool, True, "honour proxy and certificate settings from the environment"),
}


def make_optimove_sink(options: dict[str, Any]) -> Any:
    """The ``optimove`` sink from its options (see :data:`OPTIMOVE_OPTIONS`)."""
    from .http_sink import HttpJsonSink, read_token

    opts = read_options("optimove", options, OPTIMOVE_OPTIONS)
    token = read_token("optimove", opts["token_env"])
    tenant = opts["tenant"]

    def check_tenant(batch: list[dict]) -> tuple[list[dict], SendResult | None]:
        # Events of another tenant would land in the wrong Optimove instance: refuse them here.
        for i, event in enumerate(batch):
            if event.get("tenant") != tenant:
                return batch, SendResult("rejected", reason=f"tenant_mismatch: event tenant "
                                         f"{event.get('tenant')!r} is not the sink's tenant {tenant}",
                                         rejected_index=i)
        return batch, None

    return HttpJsonSink(name="optimove", url=opts["url"], token=token, token_env=opts["token_env"],
                        auth_header=opts["auth_header"], timeout=opts["timeout"], trust_env=opts["trust_env"],
                        prepare=check_tenant if tenant is not None else None)


def _make_jsonl(options: dict[str, Any]) -> Any:
    from .file_sinks import JsonLinesSink

    opts = read_options("jsonl", options, JSONL_OPTIONS)
    return JsonLinesSink(opts["path"], fsync_each_batch=opts["fsync"])


def _make_stdout(options: dict[str, Any]) -> Any:
    from .file_sinks import StdoutSink

    read_options("stdout", options, {})
    return StdoutSink()


def _make_data_studio(options: dict[str, Any]) -> Any:
    from .bespoke_sinks import DataStudioSink

    opts = read_options("data_studio", options, DATA_STUDIO_OPTIONS)
    return DataStudioSink(opts["dir"], client=opts["client"] or "ebi", customer_column=opts["customer_column"],
                          escape_formulas=opts["escape_formulas"], flush_seconds=opts["flush_seconds"],
                          max_open_days=opts["max_open_days"], fsync=opts["fsync"])


def _make_api_attributes(options: dict[str, Any]) -> Any:
    from .bespoke_sinks import make_api_attributes_sink
    from .http_sink import read_token

    opts = read_options("api_attributes", options, API_ATTRIBUTES_OPTIONS)
    token = read_token("api_attributes", opts["token_env"]) if opts["token_env"] else None
    return make_api_attributes_sink(url=opts["url"], token=token, token_env=opts["token_env"],
                                    auth_header=opts["auth_header"], timeout=opts["timeout"],
                                    trust_env=opts["trust_env"])


@hookimpl
def register_sinks(register) -> None:
    """Register the built-in sinks."""
    register(SinkDef("optimove", make_optimove_sink, kind="events",
                     doc="POST batches of ≤10 events to Optimove's endpoint (token from an env var)",
                     options=option_help(OPTIMOVE_OPTIONS)))
    register(SinkDef("jsonl", _make_jsonl, kind="events", doc="append events as JSON lines to a file",
                     options=option_help(JSONL_OPTIONS)))
    register(SinkDef("stdout", _make_stdout, kind="events", doc="write events as JSON lines to standard output"))
    register(SinkDef("data_studio", _make_data_studio, kind="bespoke",
                     doc="latest bespoke attributes per customer as one Data Studio CSV per UTC day",
                     options=option_help(DATA_STUDIO_OPTIONS)))
    register(SinkDef("api_attributes", _make_api_attributes, kind="bespoke",
                     doc="POST bespoke attribute rows to an HTTP endpoint (same answers as optimove)",
                     options=option_help(API_ATTRIBUTES_OPTIONS)))
