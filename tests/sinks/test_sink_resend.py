"""At-least-once sending through faults leaves every PK stored exactly once in the sandbox."""

from __future__ import annotations

from ebi_mapper.sandbox import start_sandbox
from sink_helpers import deposit, registration


def test_resending_until_ok_through_every_fault_stores_each_pk_once(registry, token_env):
    faults = {"500": 0.1, "drop": 0.05, "429": 0.05, "timeout": 0.02, "500_after_store": 0.1,
              "drop_after_store": 0.05, "seed": 5, "timeout_delay": 0.3, "retry_after": 0}
    with start_sandbox(vertical="casino", token=None, faults=faults, rate_limit=False) as sandbox:
        sink = registry.sink("optimove").factory({"url": sandbox.endpoint, "token_env": token_env, "timeout": 0.2})
        statuses: dict[str, int] = {}
        for b in range(100):
            batch = [deposit(f"c{b}", f"t{b}.{i}") for i in range(9)] + [registration(f"c{b}")]
            for _attempt in range(50):
                result = sink.send(batch)
                statuses[result.status] = statuses.get(result.status, 0) + 1
                if result.status == "ok":
                    break
                assert result.status == "retry", result
            else:
                raise AssertionError("a batch never got through")
        sink.close()
        stats = sandbox.stats()
    assert statuses["retry"] > 20  # the faults really happened
    assert stats["stored"]["events"] == 1000
    assert stats["stored"]["by_event"] == {"ootb_deposit": 900, "ootb_registration": 100}
    after_store = stats["faults"].get("500_after_store", 0) + stats["faults"].get("drop_after_store", 0)
    assert after_store > 0
    assert stats["events"]["duplicate"] == 10 * after_store  # each stored-then-failed batch came back once
    assert stats["max_events_per_request"] == 10
