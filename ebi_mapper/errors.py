"""The one exception root of ebi-mapper and its few subclasses.

Bad *data* is never an exception here: a payload that cannot become an event yields a
:class:`~ebi_mapper.outcomes.Rejection`. Exceptions are for the caller's mistakes (a broken
mapping file, an unknown name, a misconfigured sink) and for faults at the edges.
Each subclass also inherits the natural builtin so callers can catch either.
"""

from __future__ import annotations

__all__ = [
    "EbiMapperError",
    "MappingError",
    "UnknownNameError",
    "PluginError",
    "DeliveryError",
    "StateError",
]


class EbiMapperError(Exception):
    """Root of every exception ebi-mapper raises on purpose."""


class MappingError(EbiMapperError, ValueError):
    """A mapping file cannot be loaded or compiled.

    ``findings`` holds the lint findings that explain why (each with file, line and column).
    """

    def __init__(self, message: str, findings: tuple = ()):  # tuple[Finding, ...]
        super().__init__(message)
        self.findings = tuple(findings)


class UnknownNameError(EbiMapperError, LookupError):
    """A name (event, vertical, sink, function, guard) that nothing registered."""


class PluginError(EbiMapperError, RuntimeError):
    """A plugin failed to load or registered something invalid."""


class DeliveryError(EbiMapperError, RuntimeError):
    """A sink could not be configured or failed in a way retrying cannot fix."""


class StateError(EbiMapperError, RuntimeError):
    """The state store is unusable (locked by another run, corrupt, wrong version)."""
