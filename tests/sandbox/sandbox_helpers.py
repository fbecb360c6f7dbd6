"""Valid events of the casino vertical for the sandbox tests."""

from __future__ import annotations

TOKEN = "test-token"


def deposit(customer: str = "c1", tx: str = "t1", amount: float = 10.0, *, tenant: int = 567,
            ts: str = "2026-12-01 10:00:00.000000 UTC") -> dict:
    """A valid ootb_deposit (default rate class)."""
    return {"tenant": tenant, "event": "ootb_deposit", "customer": customer, "timestamp": ts,
            "context": {"ootb_transaction_id": tx, "ootb_deposit_timestamp": "2026-12-01T10:00:00Z",
                        "ootb_deposit_amount": amount}}


def registration(customer: str = "c1", *, email: str = "a@example.com", tenant: int = 567) -> dict:
    """A valid ootb_registration (profile rate class)."""
    return {"tenant": tenant, "event": "ootb_registration", "customer": customer,
            "timestamp": "2026-12-01 10:00:00.000000 UTC", "context": {"ootb_email": email}}
