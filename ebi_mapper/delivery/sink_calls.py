"""What a sink's ``send()`` meant: its answer, or the exception it raised, as one :class:`SendResult`.

Sinks run plugin code on worker threads; every answer is sorted here, once:

* a :class:`SendResult` → as given;
* :class:`~ebi_mapper.errors.TransientSinkError`, or an error of the network or the OS
  (``OSError``: refused or reset connections, timeouts, DNS; ``httpx.TransportError``) → ``retry``
  (backoff, dead-lettered after ``max_attempts``);
* :class:`~ebi_mapper.errors.PermanentSinkError` → ``rejected`` (split, the bad item dead-lettered);
* :class:`~ebi_mapper.errors.DeliveryError` → raised: a misconfiguration stops the run (exit 3);
* anything else (``TypeError``, ``KeyError``, a database driver's ``ProgrammingError``…) or a
  return value that is not a ``SendResult`` → :class:`~ebi_mapper.errors.SinkBugError`: a bug in
  the plugin's code. Retrying cannot fix it and dead-lettering would blame the events, so the run
  stops (exit 4) and the batch is kept for the next run (in the outbox, or, sent on the direct path,
  its chunk is rolled back with its checkpoint and read again).
"""

from __future__ import annotations

import sys
from concurrent.futures import Future
from typing import Any

from ..errors import DeliveryError, PermanentSinkError, SinkBugError, TransientSinkError
from ..extensions import SendResult

__all__ = ["LabelledSink", "is_transient", "result_of_send", "sink_label"]


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: :class:`TransientSinkError`, ``OSError``, or httpx's transport errors.

    httpx is looked up only if it is already loaded: a process whose sinks never imported it
    cannot have raised one, and leaving it unimported saves a seventh of the CLI's start-up.
    """
    if isinstance(exc, (TransientSinkError, OSError)):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, httpx.TransportError)


class LabelledSink:
    """A sink with the name it was registered under and the plugin that registered it, for messages."""

    def __init__(self, inner: Any, *, name: str, plugin: str):
        self.inner = inner
        self.name = name
        self.plugin = plugin

    def send(self, batch: list[dict]) -> Any:
        return self.inner.send(batch)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, attr: str) -> Any:  # the sink's own attributes stay reachable
        return getattr(self.inner, attr)


def sink_label(sink: Any) -> tuple[str, str]:
    """``(sink name, plugin)`` for messages: from :class:`LabelledSink`, else from the sink's class."""
    if isinstance(sink, LabelledSink):
        return sink.name, sink.plugin
    cls = type(sink)
    return cls.__qualname__, cls.__module__


def _bug(sink: Any, what: str, cause: BaseException | None) -> SinkBugError:
    name, plugin = sink_label(sink)
    return SinkBugError(
        f"sink {name!r} (plugin {plugin!r}) {what}: a bug in the plugin, not a transient fault, so the run "
        "stopped instead of retrying; the batch is kept (in the outbox, or its records are read again: nothing "
        "was acknowledged or dead-lettered) and the next run sends it once the plugin is fixed. A sink answers with SendResult or raises TransientSinkError / "
        "PermanentSinkError (docs/writing-plugins.md)",
        sink=name, plugin=plugin,
    )


def result_of_send(sink: Any, fut: Future) -> SendResult:
    """The :class:`SendResult` of a finished ``sink.send`` call.

    :raises DeliveryError: the sink reported a misconfiguration.
    :raises SinkBugError: the sink's code raised something undeclared or returned something else.
    """
    exc = fut.exception()
    if exc is None:
        result = fut.result()
        if isinstance(result, SendResult):
            return result
        raise _bug(sink, f"returned {type(result).__name__}, not a SendResult", None)
    if isinstance(exc, DeliveryError):
        raise exc
    if isinstance(exc, PermanentSinkError):
        return SendResult("rejected", reason=str(exc) or "refused by the sink", rejected_index=exc.rejected_index)
    if is_transient(exc):
        if isinstance(exc, TransientSinkError):
            return SendResult("retry", reason=str(exc) or "transient sink error", retry_after=exc.retry_after)
        return SendResult("retry", reason=f"{type(exc).__name__}: {exc}")
    raise _bug(sink, f"raised {type(exc).__name__}: {exc}", exc) from exc
