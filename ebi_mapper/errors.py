"""The one exception root of ebi-mapper and its few subclasses.

Bad *data* is never an exception here: a payload that cannot become an event yields a
:class:`~ebi_mapper.outcomes.Rejection`. Exceptions are for the caller's mistakes (a broken
mapping file, an unknown name, a misconfigured sink) and for faults at the edges.
Each subclass also inherits the natural builtin so callers can catch either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotation only: every module imports this one, it imports none
    from .lint.findings import Finding

__all__ = [
    "EbiMapperError",
    "MappingError",
    "UnknownNameError",
    "PluginError",
    "DeliveryError",
    "StateError",
    "TransientSinkError",
    "PermanentSinkError",
    "SinkBugError",
    "ConfigError",
]


class EbiMapperError(Exception):
    """Root of every exception ebi-mapper raises on purpose."""


class MappingError(EbiMapperError, ValueError):
    """A mapping file cannot be loaded or compiled.

    ``findings`` holds the lint findings that explain why (each with file, line and column).
    """

    def __init__(self, message: str, findings: Iterable[Finding] = ()):
        super().__init__(message)
        self.findings: tuple[Finding, ...] = tuple(findings)


class UnknownNameError(EbiMapperError, LookupError):
    """A name (event, vertical, sink, function, guard) that nothing registered."""


class PluginError(EbiMapperError, RuntimeError):
    """A plugin failed to load or registered something invalid."""


class DeliveryError(EbiMapperError, RuntimeError):
    """A sink could not be configured or failed in a way retrying cannot fix."""


class StateError(EbiMapperError, RuntimeError):
    """The state store is unusable (locked by another run, corrupt, wrong version)."""


class TransientSinkError(EbiMapperError, RuntimeError):
    """Raised by a sink's ``send()``: this batch failed for a passing reason; try it again later.

    Same as answering ``SendResult("retry", reason, retry_after)``: the pipeline backs off (at
    least ``retry_after`` seconds when given) and dead-letters the batch after ``max_attempts``.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSinkError(EbiMapperError, ValueError):
    """Raised by a sink's ``send()``: the receiver refuses this batch for good; retrying cannot help.

    Same as answering ``SendResult("rejected", reason, rejected_index=...)``: the pipeline splits
    the batch to isolate the bad item (``rejected_index`` names it when known) and dead-letters it.
    """

    def __init__(self, reason: str, *, rejected_index: int | None = None):
        super().__init__(reason)
        self.rejected_index = rejected_index


class SinkBugError(PluginError):
    """A sink's code failed in a way no retry can fix (an unexpected exception, a wrong return value).

    The run stops; the batch is kept for the next run (in the outbox, or read again from the input). ``__cause__`` is the sink's own
    exception, if any; ``sink`` and ``plugin`` name where the code came from.
    """

    def __init__(self, message: str, *, sink: str, plugin: str):
        super().__init__(message)
        self.sink = sink
        self.plugin = plugin


class ConfigError(EbiMapperError, ValueError):
    """A setting of the service (a ``serve`` section, an environment variable it names) is unusable.

    The message names the setting or the variable, never a secret value.
    """
