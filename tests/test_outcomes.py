"""The outcome types' constructors are the only way the engine builds them.

``OotbEvent`` has a hand-written ``__init__`` (one ``__dict__`` assignment, half the cost of the
frozen dataclass's generated one); the engine's generated code calls it like any caller, with no
``object.__new__`` shortcut that a change to the class (``slots=True``, a new field) could
silently switch off. These tests fail on such a change instead: the constructor must set every
declared field, in order, and the class must stay frozen, comparable and ``replace``-able.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from ebi_mapper.outcomes import OotbEvent, RecordResult


def test_ootb_event_constructor_sets_every_field():
    names = [f.name for f in dataclasses.fields(OotbEvent)]
    params = list(inspect.signature(OotbEvent.__init__).parameters)[1:]
    assert params == names, "OotbEvent.__init__ and its fields parted: update both (outcomes.py)"
    values = [567, "ootb_deposit", "42", "2026-12-10 10:00:00.000000 UTC", {"a": 1}, "deposit", ("t1",), (1, "v")]
    positional = OotbEvent(*values)
    keywords = OotbEvent(**dict(zip(names, values, strict=True)))
    assert positional == keywords
    assert [getattr(positional, n) for n in names] == values
    assert vars(positional) == dict(zip(names, values, strict=True))  # stored as plain attributes, nothing else
    short = OotbEvent(1, "e", "c", "t", {})
    assert (short.rule, short.pk, short.version) == ("", (), None)  # the declared defaults


def test_ootb_event_stays_frozen_comparable_and_replaceable():
    event = OotbEvent(1, "e", "c", "t", {}, "r", ("k",), 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.customer = "other"  # type: ignore[misc]
    assert dataclasses.replace(event, rule="s") == OotbEvent(1, "e", "c", "t", {}, "s", ("k",), 3)
    assert event != dataclasses.replace(event, version=4)
    assert "customer='c'" in repr(event)


def test_record_result_is_built_by_its_constructor():
    result = RecordResult()
    assert (result.events, result.rejections, result.filtered, result.bespoke, result.nulls_dropped) == ([], [], [], [], 0)
    assert result.outcome == "filtered"
