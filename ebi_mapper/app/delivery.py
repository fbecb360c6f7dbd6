"""The delivery set-up every delivering command shares: ``run``, ``dlq replay``, ``worker``, ``serve``.

Written once here instead of in each command: load the mapping through the edge (one registry),
merge the delivery settings (mapping ``delivery:``, ``EBI_MAPPER_*``, command line), build the
sinks from that registry, and wrap a :class:`~ebi_mapper.delivery.pipeline.DeliveryLoop` in the
state's record of the run (``start_run`` / ``end_run`` with how it ended, the sinks and the loop
closed whatever happens). ``tests/test_app_edge.py`` runs ``run`` and ``dlq replay`` through it
with one registry; ``tests/delivery/test_cli.py`` and ``test_dlq_cli.py`` prove the behaviour
stayed the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..delivery.pipeline import DeliveryLoop, DeliveryOptions
from ..delivery.settings import DeliverySettings, make_sinks, parse_key_values, read_delivery_settings
from ..delivery.state import StateStore
from ..delivery.summary import Progress, RunSummary
from ..extensions import Sink
from .loading import Loaded, load

__all__ = ["DeliverySetup", "Delivering", "delivery_setup", "delivering"]


@dataclass(frozen=True)
class DeliverySetup:
    """A mapping loaded through the edge and its delivery settings: what a delivering command starts from."""

    loaded: Loaded
    settings: DeliverySettings

    def make_sinks(self, settings: DeliverySettings | None = None) -> tuple[Sink, Sink | None]:
        """The events sink and the bespoke sink (or None), from the one registry."""
        return make_sinks(self.loaded.registry, settings or self.settings)


def delivery_setup(mapping: str | Path, *, disable: Iterable[str] = (), sink: str | None = None,
                   sink_options: Iterable[str] = (), bespoke_options: Iterable[str] = (), limits: Iterable[str] = (),
                   state_dir: str | Path | None = None, max_records: int | None = None,
                   overrides: Mapping[str, Any] | None = None) -> DeliverySetup:
    """Load ``mapping`` (one registry, ``disable`` honoured) and merge its delivery settings.

    ``sink_options``, ``bespoke_options`` and ``limits`` are the command line's ``KEY=VALUE`` pairs.
    """
    loaded = load(mapping, disable=disable)
    settings = read_delivery_settings(
        loaded.mapping, catalog=loaded.catalog, sink=sink,
        sink_options=parse_key_values(tuple(sink_options), "--sink-option"),
        bespoke_options=parse_key_values(tuple(bespoke_options), "--bespoke-option"),
        limits=parse_key_values(tuple(limits), "--limit"), state_dir=state_dir, max_records=max_records,
        overrides=overrides)
    return DeliverySetup(loaded, settings)


@dataclass
class Delivering:
    """One recorded delivery: its loop and sinks; the caller sets ``summary`` when the loop returns."""

    loop: DeliveryLoop
    event_sink: Sink
    bespoke_sink: Sink | None
    summary: RunSummary | None = None
    sinks: tuple[Sink, ...] = field(default=())


@contextmanager
def delivering(setup: DeliverySetup, state: StateStore, *, input_id: str, mapping: str,
               options: DeliveryOptions | None = None,
               on_progress: Callable[[Progress], None] | None = None) -> Iterator[Delivering]:
    """Sinks, loop and the run's record in ``state`` around one delivery.

    On the way out, whatever happened: the loop and the sinks are closed, and the run is recorded
    as the summary's status, ``interrupted`` (Ctrl-C) or ``failed`` (anything else, or no summary).
    """
    settings = setup.settings
    event_sink, bespoke_sink = setup.make_sinks()
    try:
        loop = DeliveryLoop(state=state, mapper=setup.loaded.mapper, plan=settings.plan, event_sink=event_sink,
                            bespoke_sink=bespoke_sink, bespoke_route=settings.bespoke_route,
                            options=options or settings.options, on_progress=on_progress)
    except BaseException:
        _close(event_sink, bespoke_sink)
        raise
    run = Delivering(loop, event_sink, bespoke_sink, sinks=tuple(s for s in (event_sink, bespoke_sink) if s is not None))
    run_id = state.start_run(input_id=input_id, mapping=mapping, now=time.time())
    status = "failed"
    try:
        yield run
        if run.summary is not None:
            status = run.summary.status
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        try:
            loop.close()
        finally:
            _close(event_sink, bespoke_sink)
            summary = run.summary
            state.end_run(run_id, status=status, counts=summary.totals if summary else {}, now=time.time())


def _close(*sinks: Sink | None) -> None:
    for sink in sinks:
        if sink is not None:
            sink.close()
