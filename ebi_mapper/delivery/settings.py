"""Read a mapping's ``delivery:`` section (plus command-line overrides) and build a delivery loop.

The section is free-form in the mapping file; these are the keys ``run`` and ``dlq replay`` read::

    delivery:
      sink: optimove                 # the events sink (a registered sink of kind 'events')
      sink_options: {url: "https://…/v2/reportServer", token_env: OPTIMOVE_TOKEN}
      bespoke_options: {dir: data-studio}   # options of the sink named by bespoke.route
      limits: {profile: 50/10s, default: 10000/1s, global: 10000/1s}
      batch_size: 10                 # ≤ the catalog's max_events_per_request
      linger_ms: 1000                # how long a half-full batch waits for more events
      concurrency: 4                 # requests in flight at once
      max_attempts: 8                # failed sends (5xx, timeouts) before a batch is dead-lettered
      retry_base_ms: 500             # first backoff step (full jitter, doubling, capped at retry_max_ms)
      retry_max_ms: 60000
      state_dir: .ebi-state/acme     # where state.sqlite lives (``--state-dir`` wins)
      retention: {dedup: 7d, dead_letters: 30d, runs: 90d}   # see retention.py; none keeps for ever

Any string in the section may read the environment: ``${VAR}``, or ``${VAR:-default}`` (the default
when VAR is unset or empty), ``$${`` for a literal ``${`` (docs/delivery.md). A missing variable
with no default is a :class:`DeliveryError` naming it; a value read from the environment is never
echoed in an error (it may be a secret). ``EBI_MAPPER_SINK``, ``EBI_MAPPER_SINK_URL`` and
``EBI_MAPPER_STATE_DIR`` override the section; command-line values win over all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DeliveryError
from .pipeline import DeliveryOptions
from .rateplan import RatePlan, make_rate_plan
from .retention import Retention, parse_duration
from .retry import RetryPolicy

__all__ = ["DeliverySettings", "read_delivery_settings", "parse_key_values",
           "make_sinks", "interpolate_env", "state_dir_of", "KNOWN_KEYS", "ENV_SINK", "ENV_SINK_URL", "ENV_STATE_DIR"]

# The EBI_MAPPER_* variables (documented in docs/delivery.md): between the mapping and the command line.
ENV_SINK = "EBI_MAPPER_SINK"
ENV_SINK_URL = "EBI_MAPPER_SINK_URL"
ENV_STATE_DIR = "EBI_MAPPER_STATE_DIR"

KNOWN_KEYS = frozenset({
    "sink", "sink_options", "bespoke_options", "limits", "batch_size", "bespoke_batch_size", "linger_ms",
    "concurrency", "max_attempts", "max_throttled", "retry_base_ms", "retry_max_ms", "chunk_size",
    "max_backlog_batches", "state_dir", "retention", "map_process",
})
RETENTION_KEYS = frozenset({"dedup", "dead_letters", "runs"})


@dataclass(frozen=True)
class DeliverySettings:
    """Everything ``run`` needs besides the mapper and the input."""

    sink: str
    sink_options: dict[str, Any]
    bespoke_route: str | None  # None: bespoke rows are dropped (route 'drop' or no bespoke section)
    bespoke_options: dict[str, Any]
    plan: RatePlan
    options: DeliveryOptions
    state_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)


def parse_key_values(pairs: tuple[str, ...] | list[str], what: str) -> dict[str, str]:
    """``("k=v", ...)`` → ``{k: v}``; a pair without ``=`` is a caller mistake."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DeliveryError(f"{what} {pair!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out


_REFERENCE = re.compile(r"\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})?")


def interpolate_env(value: Any, environ: Mapping[str, str], where: str, used: dict[str, str]) -> Any:
    """``value`` with every ``${VAR}`` / ``${VAR:-default}`` in its strings replaced from ``environ``.

    Dicts and lists are walked (``where`` names the place, e.g. ``delivery.sink_options.url``);
    ``used`` collects ``{place: source text}`` of the strings that read a variable, so errors can
    name the variable instead of showing its value.
    """
    if isinstance(value, dict):
        return {k: interpolate_env(v, environ, f"{where}.{k}", used) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_env(v, environ, f"{where}[{i}]", used) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace_one(match: re.Match) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name is None:
            raise DeliveryError(f"{where}: '${{' must start ${{NAME}} or ${{NAME:-default}} (write $${{ for a literal ${{)")
        got = environ.get(name)
        if got:
            return got
        if default is not None:
            return default
        raise DeliveryError(f"{where}: environment variable {name} is not set (write ${{{name}:-default}} to give a default)")

    used[where] = value
    return _REFERENCE.sub(replace_one, value)


def _number(delivery: Mapping[str, Any], key: str, default: float, cast: type = float, from_env: Mapping[str, str] | None = None) -> Any:
    value = delivery.get(key, default)
    try:
        return cast(value)
    except (TypeError, ValueError) as exc:
        # A value read from the environment may be a secret: name where it came from instead.
        source = (from_env or {}).get(f"delivery.{key}")
        shown = f"the value of {source}" if source else repr(value)
        raise DeliveryError(f"delivery.{key} must be a number, got {shown}") from exc


def _map_process(value: Any) -> str:
    """``delivery.map_process``: map ``run``'s input in a child process (premap.py); ``auto``: with 2+ cores."""
    from .premap import MAP_PROCESS_CHOICES

    if value is None:
        return "auto"
    if isinstance(value, bool):  # YAML reads a bare on/off as a boolean
        return "on" if value else "off"
    if value not in MAP_PROCESS_CHOICES:
        raise DeliveryError(f"delivery.map_process must be one of {', '.join(MAP_PROCESS_CHOICES)}, got {value!r}")
    return str(value)


def _retention(section: Any) -> Retention:
    if section is None:
        return Retention()
    if not isinstance(section, Mapping):
        raise DeliveryError(f"delivery.retention must be a mapping like {{dedup: 7d}}, got {section!r}")
    unknown = sorted(set(section) - RETENTION_KEYS)
    if unknown:
        raise DeliveryError(f"unknown key(s) in delivery.retention: {', '.join(unknown)} (known: {', '.join(sorted(RETENTION_KEYS))})")
    default = Retention()
    return Retention(**{key: parse_duration(section[key], f"delivery.retention.{key}") if key in section else getattr(default, key)
                        for key in sorted(RETENTION_KEYS)})


def read_delivery_settings(
    mapping: Any,
    *,
    catalog: Any = None,
    sink: str | None = None,
    sink_options: Mapping[str, Any] | None = None,
    bespoke_options: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
    state_dir: str | Path | None = None,
    max_records: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeliverySettings:
    """Merge the mapping's ``delivery:`` section (``${VAR}`` read from ``environ``, default
    ``os.environ``), the EBI_MAPPER_* variables, and command-line values (which win).

    :raises DeliveryError: an unknown key, a value of the wrong type, an unknown rate class, a
        missing environment variable.
    """
    env = os.environ if environ is None else environ
    from_env: dict[str, str] = {}
    section = interpolate_env(dict(mapping.delivery or {}), env, "delivery", from_env)
    delivery = {**section, **{k: v for k, v in dict(overrides or {}).items() if v is not None}}
    unknown = sorted(set(delivery) - KNOWN_KEYS)
    if unknown:
        raise DeliveryError(f"unknown key(s) in delivery: {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    context = {"client": mapping.client, "tenant": mapping.tenant, "vertical": mapping.vertical}
    env_url = {"url": env[ENV_SINK_URL]} if env.get(ENV_SINK_URL) else {}
    opts = {**context, **dict(delivery.get("sink_options") or {}), **env_url, **dict(sink_options or {})}
    bespoke = getattr(mapping, "bespoke", None)
    route = bespoke.route if bespoke is not None and bespoke.rules else None
    if route == "drop":
        route = None
    bespoke_opts = {"client": mapping.client, **dict(delivery.get("bespoke_options") or {}), **dict(bespoke_options or {})}
    plan = make_rate_plan(catalog, delivery=delivery, overrides=limits)
    policy = RetryPolicy(
        max_attempts=_number(delivery, "max_attempts", 8, int, from_env=from_env),
        max_throttled=_number(delivery, "max_throttled", 100, int, from_env=from_env),
        base_delay=_number(delivery, "retry_base_ms", 500, from_env=from_env) / 1000.0,
        max_delay=_number(delivery, "retry_max_ms", 60_000, from_env=from_env) / 1000.0,
    )
    options = DeliveryOptions(
        chunk_size=_number(delivery, "chunk_size", 2000, int, from_env=from_env),
        linger=_number(delivery, "linger_ms", 1000, from_env=from_env) / 1000.0,
        concurrency=_number(delivery, "concurrency", 4, int, from_env=from_env),
        max_backlog_batches=_number(delivery, "max_backlog_batches", 5000, int, from_env=from_env),
        max_records=max_records,
        retry=policy,
        retention=_retention(delivery.get("retention")),
        map_process=_map_process(delivery.get("map_process")),
    )
    directory = state_dir_of(mapping, state_dir, delivery=delivery, environ=env)
    events_sink = sink or env.get(ENV_SINK) or delivery.get("sink") or "optimove"
    return DeliverySettings(events_sink, opts, route, bespoke_opts, plan, options, directory)


def state_dir_of(mapping: Any, state_dir: str | Path | None = None, *, delivery: Mapping[str, Any] | None = None,
                 environ: Mapping[str, str] | None = None) -> Path:
    """The state dir of ``mapping``: ``state_dir`` (the command line) if given, else ``EBI_MAPPER_STATE_DIR``,
    else ``delivery.state_dir`` (relative to the mapping file), else ``.ebi-state/<client>``."""
    env = os.environ if environ is None else environ
    if delivery is None:
        delivery = interpolate_env(dict(mapping.delivery or {}), env, "delivery", {})
    base = Path(mapping.path).parent if getattr(mapping, "path", "") else Path.cwd()
    state_dir = state_dir or env.get(ENV_STATE_DIR) or None  # given (or from the environment): relative to the cwd
    chosen = state_dir or delivery.get("state_dir")
    directory = Path(chosen) if chosen else Path(".ebi-state") / (mapping.client or "default")
    if chosen and not Path(chosen).is_absolute() and not state_dir:
        directory = base / directory  # a path in the mapping file is relative to the mapping
    return directory


def make_sinks(registry: Any, settings: DeliverySettings) -> tuple[Any, Any]:
    """Build the events sink and the bespoke sink (or ``None``) named by ``settings``.

    :raises UnknownNameError: a sink nobody registered. :raises DeliveryError: a sink of the
        wrong kind, or one whose options are wrong.
    """
    from .sink_calls import LabelledSink

    def build(name: str, options: Mapping[str, Any]) -> LabelledSink:
        # Labelled so that a fault in the sink's code names the sink and the plugin that gave it.
        sink = registry.sink(name).factory(dict(options))
        return LabelledSink(sink, name=name, plugin=registry.provided_by.get(("sinks", name), "?"))

    sdef = registry.sink(settings.sink)
    if sdef.kind != "events":
        raise DeliveryError(f"sink {settings.sink!r} takes {sdef.kind} rows, not OOTB events")
    event_sink = build(settings.sink, settings.sink_options)
    bespoke_sink = None
    if settings.bespoke_route is not None:
        bdef = registry.sink(settings.bespoke_route)
        if bdef.kind != "bespoke":
            event_sink.close()
            raise DeliveryError(f"bespoke.route {settings.bespoke_route!r} is a sink of {bdef.kind}, not bespoke rows: "
                                "bespoke attributes never go to the OOTB events sink")
        try:
            bespoke_sink = build(settings.bespoke_route, settings.bespoke_options)
        except BaseException:
            event_sink.close()
            raise
    return event_sink, bespoke_sink
