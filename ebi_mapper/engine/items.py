"""Name the element of an `each` fan-out in diagnostics: its index and its primary-key values.

Both engine paths call :func:`tag_item` after producing one element, so a rejection (and the
dead letter or rejects line made from it) says which of an order's lines or a coupon's legs it
is about; ``explain`` shows :func:`item_key` in its header per element.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..outcomes import Rejection

__all__ = ["item_key", "tag_item"]


def item_key(crule: Any, scope: dict) -> str:
    """The element's primary-key values as the rule maps them (``ootb_order_id=1001, ...``), for diagnostics."""
    keys = crule.event.primary_key
    # A two-level `each`: the element's index is its inner index, so name the outer one here.
    parts = [f"outer_index={scope['outer_index']}"] if "outer_index" in scope else []
    for cf in crule.context:
        if cf.field.name not in keys:
            continue
        try:
            state, value = cf.field.evaluate(scope)
        except Exception:  # noqa: BLE001 - a key that cannot be read is simply not shown
            continue
        if state == "value" and type(value) in (str, int, float):
            parts.append(f"{cf.field.name}={value}")
    return ", ".join(parts)


def tag_item(rejections: list[Rejection], start: int, crule: Any, scope: dict) -> None:
    """Name the `each` element (index and key) in the rejections from ``start`` on: both engine paths call this."""
    if len(rejections) <= start:
        return
    key = item_key(crule, scope)
    for i in range(start, len(rejections)):
        if rejections[i].item is None:
            rejections[i] = dataclasses.replace(rejections[i], item=scope["index"], item_key=key)
