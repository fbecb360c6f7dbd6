"""Properties of the engine over arbitrary JSON: never raises, every event valid, all accounted for."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebi_mapper import schema_rejections

from .conftest import DEPOSIT_RULE, NOW

json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)

# Payloads that reach the rule: the discriminator is right and the fields are anything at all.
deposit_like = st.fixed_dictionaries(
    {"type": st.just("wallet.deposit")},
    optional={
        "data": st.fixed_dictionaries(
            {},
            optional={
                "player_id": json_values,
                "processed_at": st.sampled_from(["2026-12-10T10:00:00Z", "2026-12-10 10:00:00", 1797069600000, "2026-03-29 02:30:00", "2026-10-25 02:30:00"]) | json_values,
                "currency": st.sampled_from(["EUR", "USD", None]) | json_values,
                "tx_id": json_values,
                "amount": st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str) | json_values,
                "method": json_values,
            },
        )
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=json_values | deposit_like)
def test_mapping_never_raises_and_every_event_validates(make_mapper, payload):
    mapper = _mapper(make_mapper)
    result = mapper.map_record(payload, now=NOW)
    assert result.events or result.rejections or result.filtered
    for event in result.events:
        assert schema_rejections("casino", event.to_dict()) == []
        assert event.timestamp.endswith(" UTC")
    for rejection in result.rejections:
        assert rejection.code and rejection.message and rejection.rule
    again = mapper.map_record(payload, now=NOW)
    assert again == result  # deterministic


_cache = {}


def _mapper(make_mapper):
    if "m" not in _cache:
        _cache["m"] = make_mapper(DEPOSIT_RULE + """
  - name: profile
    when: "type == 'wallet.deposit'"
    event: ootb_user_details_update
    customer: data.player_id
    timestamp: data.processed_at
    context:
      ootb_first_name: {expr: data.method, nulls: keep}
      ootb_is_test: data.tx_id
""")
    return _cache["m"]
