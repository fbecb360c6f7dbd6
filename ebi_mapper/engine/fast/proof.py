"""Bookkeeping of validation by construction while one rule's runner is written (see :mod:`.conformance`).

:class:`ProofMarks` knows the event's schema, answers which fragment a written value must meet,
and writes ``_chk = True`` after every branch whose guarantee does not prove that fragment; at
the end it says whether the event's shape holds by construction. The runner then validates an
event only if ``_chk`` was set (or always, if the shape is not proven or proof is off).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .conformance import Guarantee, envelope_fragment, non_empty, prove_skeleton

__all__ = ["ProofMarks", "make_proof"]

_CONTEXT = "$.context."


class ProofMarks:
    """What one rule's generated code has proven so far; ``schema`` None means proof is off."""

    def __init__(self, schema: dict | None):
        self.schema = schema
        self.always: set[str] = set()  # context keys written on every path that reaches the event
        self.unproven = False  # some branch writes ``_chk = True``

    @property
    def enabled(self) -> bool:
        return self.schema is not None

    def fragment(self, key: str) -> Any:
        """The schema fragment a value written to ``key`` (an envelope key or ``$.context.<param>``) must meet."""
        if self.schema is None:  # not enabled: nothing to meet
            return None
        if key.startswith(_CONTEXT):
            context = envelope_fragment(self.schema, "context")
            return context.get("properties", {}).get(key[len(_CONTEXT):], {}) if isinstance(context, dict) else None
        return envelope_fragment(self.schema, key)

    def mark(self, w: Any, key: str, guarantee: Guarantee | None, value: str | None = None) -> None:
        """After a branch that wrote ``value`` to ``key``: flag the event for checking unless ``guarantee`` proves it valid.

        A coercer's string may be empty where the schema wants one character at least (an id
        sent as ``""``): then only an empty ``value`` flags the event.
        """
        if not self.enabled or (guarantee is not None and guarantee.proves(self.fragment(key))):
            return
        self.unproven = True
        refined = non_empty(guarantee)
        if value is not None and refined is not None and refined.proves(self.fragment(key)):
            w.emit(f"if {value} == '': _chk = True")
        else:
            w.emit("_chk = True")

    def flag_suffix(self, key: str, guarantee: Guarantee) -> str:
        """:meth:`mark` for a one-line branch: ``''`` if proven, else ``'; _chk = True'`` to append to it."""
        if not self.enabled or guarantee.proves(self.fragment(key)):
            return ""
        self.unproven = True
        return "; _chk = True"

    def non_empty(self, key: str) -> bool:
        """The fragment for ``key`` refuses empty strings (so inline tests should let them through only checked)."""
        fragment = self.fragment(key) if self.enabled else None
        return isinstance(fragment, dict) and isinstance(fragment.get("minLength"), int) and fragment["minLength"] >= 1

    def shape_holds(self, *, tenant: Any, event: str, names: list[str]) -> bool:
        """The event's skeleton is valid by construction (see :func:`~.conformance.prove_skeleton`)."""
        return self.enabled and prove_skeleton(self.schema, tenant=tenant, event=event, names=names, always=self.always) is not None


def make_proof(validator: Any, event: str, *, enabled: bool) -> ProofMarks:
    """Proof marks for ``event`` in ``validator``'s vertical; off when not ``enabled`` or there is no schema."""
    if not enabled:
        return ProofMarks(None)
    try:
        return ProofMarks(_schema(validator.vertical, event))
    except (LookupError, AttributeError):
        return ProofMarks(None)


@cache
def _schema(vertical: str, event: str) -> dict:
    """One copy per event schema, shared by every rule's marks (they only read it)."""
    from ...schemas import load_schema

    return load_schema(vertical, event)
