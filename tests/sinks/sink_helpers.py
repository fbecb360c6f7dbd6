"""The token and valid events for the sink tests."""

from __future__ import annotations

# Distinctive, so a leak into any text is easy to find.
SECRET = "tok-SECRET-9f83b2c4e1"
TOKEN_ENV = "EBI_TEST_OPTIMOVE_TOKEN"


def deposit(customer: str = "c1", tx: str = "t1", amount: float = 10.0, *, tenant: int = 567) -> dict:
    """A valid casino ootb_deposit."""
    return {"tenant": tenant, "event": "ootb_deposit", "customer": customer,
            "timestamp": "2026-12-01 10:00:00.000000 UTC",
            "context": {"ootb_transaction_id": tx, "ootb_deposit_timestamp": "2026-12-01T10:00:00Z",
                        "ootb_deposit_amount": amount}}


def registration(customer: str = "c1", *, tenant: int = 567) -> dict:
    """A valid ootb_registration (profile rate class)."""
    return {"tenant": tenant, "event": "ootb_registration", "customer": customer,
            "timestamp": "2026-12-01 10:00:00.000000 UTC", "context": {"ootb_email": "a@example.com"}}
