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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import DeliveryError
from .pipeline import DeliveryOptions
from .rateplan import RatePlan, make_rate_plan
from .retention import Retention, parse_duration
from .retry import RetryPolicy

__all__ = ["DeliverySettings", "LoadedMapping", "load_for_delivery", "read_delivery_settings", "parse_key_values",
           "make_sinks", "KNOWN_KEYS"]

KNOWN_KEYS = frozenset({
    "sink", "sink_options", "bespoke_options", "limits", "batch_size", "bespoke_batch_size", "linger_ms",
    "concurrency", "max_attempts", "max_throttled", "retry_base_ms", "retry_max_ms", "chunk_size",
    "max_backlog_batches", "state_dir", "retention",
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


def _number(delivery: Mapping[str, Any], key: str, default: float, cast: type = float) -> Any:
    value = delivery.get(key, default)
    try:
        return cast(value)
    except (TypeError, ValueError) as exc:
        raise DeliveryError(f"delivery.{key} must be a number, got {value!r}") from exc


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
) -> DeliverySettings:
    """Merge the mapping's ``delivery:`` section with command-line values (which win).

    :raises DeliveryError: an unknown key, a value of the wrong type, an unknown rate class.
    """
    delivery = {**dict(mapping.delivery or {}), **{k: v for k, v in dict(overrides or {}).items() if v is not None}}
    unknown = sorted(set(delivery) - KNOWN_KEYS)
    if unknown:
        raise DeliveryError(f"unknown key(s) in delivery: {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    context = {"client": mapping.client, "tenant": mapping.tenant, "vertical": mapping.vertical}
    opts = {**context, **dict(delivery.get("sink_options") or {}), **dict(sink_options or {})}
    bespoke = getattr(mapping, "bespoke", None)
    route = bespoke.route if bespoke is not None and bespoke.rules else None
    if route == "drop":
        route = None
    bespoke_opts = {"client": mapping.client, **dict(delivery.get("bespoke_options") or {}), **dict(bespoke_options or {})}
    plan = make_rate_plan(catalog, delivery=delivery, overrides=limits)
    policy = RetryPolicy(
        max_attempts=_number(delivery, "max_attempts", 8, int),
        max_throttled=_number(delivery, "max_throttled", 100, int),
        base_delay=_number(delivery, "retry_base_ms", 500) / 1000.0,
        max_delay=_number(delivery, "retry_max_ms", 60_000) / 1000.0,
    )
    options = DeliveryOptions(
        chunk_size=_number(delivery, "chunk_size", 500, int),
        linger=_number(delivery, "linger_ms", 1000) / 1000.0,
        concurrency=_number(delivery, "concurrency", 4, int),
        max_backlog_batches=_number(delivery, "max_backlog_batches", 5000, int),
        max_records=max_records,
        retry=policy,
        retention=_retention(delivery.get("retention")),
    )
    base = Path(mapping.path).parent if getattr(mapping, "path", "") else Path.cwd()
    chosen = state_dir or delivery.get("state_dir")
    directory = Path(chosen) if chosen else Path(".ebi-state") / (mapping.client or "default")
    if chosen and not Path(chosen).is_absolute() and not state_dir:
        directory = base / directory  # a path in the mapping file is relative to the mapping
    return DeliverySettings(sink or delivery.get("sink") or "optimove", opts, route, bespoke_opts, plan, options, directory)


def make_sinks(registry: Any, settings: DeliverySettings) -> tuple[Any, Any]:
    """Build the events sink and the bespoke sink (or ``None``) named by ``settings``.

    :raises UnknownNameError: a sink nobody registered. :raises DeliveryError: a sink of the
        wrong kind, or one whose options are wrong.
    """
    sdef = registry.sink(settings.sink)
    if sdef.kind != "events":
        raise DeliveryError(f"sink {settings.sink!r} takes {sdef.kind} rows, not OOTB events")
    event_sink = sdef.factory(dict(settings.sink_options))
    bespoke_sink = None
    if settings.bespoke_route is not None:
        bdef = registry.sink(settings.bespoke_route)
        if bdef.kind != "bespoke":
            event_sink.close()
            raise DeliveryError(f"bespoke.route {settings.bespoke_route!r} is a sink of {bdef.kind}, not bespoke rows: "
                                "bespoke attributes never go to the OOTB events sink")
        try:
            bespoke_sink = bdef.factory(dict(settings.bespoke_options))
        except BaseException:
            event_sink.close()
            raise
    return event_sink, bespoke_sink


@dataclass(frozen=True)
class LoadedMapping:
    """A mapping loaded, its plugins registered, compiled: what ``run`` and ``dlq replay`` start from."""

    mapping: Any
    registry: Any
    mapper: Any
    catalog: Any


def load_for_delivery(path: str | Path) -> LoadedMapping:
    """Load and compile the mapping at ``path`` with its plugins (the sinks included)."""
    from ..catalog import load_catalog
    from ..engine import compile_mapping
    from ..mapping import load_mapping
    from ..plugins import make_registry

    mapping = load_mapping(path)
    registry = make_registry(local_modules=mapping.plugins, base_dir=Path(path).parent)
    catalog = load_catalog()
    return LoadedMapping(mapping, registry, compile_mapping(mapping, registry=registry, catalog=catalog), catalog)
