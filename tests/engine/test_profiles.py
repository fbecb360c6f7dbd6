"""The profile merge itself (engine/profiles.py): field by field, by version, across the two profile events."""

from __future__ import annotations

import pytest

from ebi_mapper.catalog import load_catalog
from ebi_mapper.engine.profiles import MemoryProfiles, ProfileMerger
from ebi_mapper.engine.versioning import version_key
from ebi_mapper.outcomes import OotbEvent

TS = "2026-12-01 10:00:00.000000 UTC"


def event(name="ootb_user_details_update", customer="c1", version=None, ts=TS, **context):
    return OotbEvent(567, name, customer, ts, context, "r", (customer,), None if version is None else version_key(version))


def merger(policy="send", channels=("email",)):
    return ProfileMerger(load_catalog(), channels=channels, policy=policy, store=MemoryProfiles())


def test_no_field_is_lost_and_newer_values_win():
    m = merger()
    m.merge(event(ootb_email="a@x.com", ootb_allow_email="Yes", ootb_is_blocked=True, ootb_city="Rome"))
    out = m.merge(event(ootb_mobile_number=None, ootb_city="Oslo"))
    assert out.status == "merged"
    assert out.event.context == {"ootb_email": "a@x.com", "ootb_allow_email": "Yes", "ootb_is_blocked": True, "ootb_city": "Oslo", "ootb_mobile_number": None}


def test_a_field_is_only_overwritten_by_a_version_at_least_as_high():
    m = merger()
    m.merge(event(version=5, ootb_email="a@x.com", ootb_allow_email="No", ootb_city="Rome", ts="2026-12-01 10:05:00.000000 UTC"))
    late = m.merge(event(version=3, ootb_city="Paris", ootb_is_blocked=True))
    assert late.status == "merged"
    assert late.event.context == {"ootb_email": "a@x.com", "ootb_allow_email": "No", "ootb_city": "Rome", "ootb_is_blocked": True}
    assert late.event.timestamp == "2026-12-01 10:05:00.000000 UTC" and late.event.version == ["n", 5]
    assert m.merge(event(version=4, ootb_city="Oslo")).status == "stale"  # older, and nothing new


def test_a_known_value_completes_only_an_event_typing_it_alike():
    m = merger()
    m.merge(event("ootb_registration", ootb_email="a@x.com", ootb_is_test="No"))  # Yes/No on a registration
    out = m.merge(event(ootb_city="Rome"))  # boolean on an update: not taken from the registration
    assert out.event.context == {"ootb_email": "a@x.com", "ootb_city": "Rome"}


@pytest.mark.parametrize("policy, status", [("send", "partial"), ("reject", "rejected")])
def test_cold_start_follows_the_policy(policy, status):
    out = merger(policy).merge(event(customer="new", ootb_city="Riga"), "in.jsonl:3")
    assert out.status == status and out.missing == ("ootb_allow_email", "ootb_email")
    if policy == "reject":
        assert out.event is None and out.rejection.code == "profile_unknown" and out.rejection.source == "in.jsonl:3"
        assert "cold start" in out.rejection.message


def test_a_registration_is_never_completed_nor_partial():
    out = merger(channels=("email", "sms")).merge(event("ootb_registration", ootb_email="a@x.com"))
    assert out.status == "merged"  # its channel params are the engine's to require, not the merge's
