"""API keys' caps in a charging decision: the operations a key may charge, and what it
may spend in a window (see :mod:`creditline.domain.api_keys`).

A charge made with a limited key names it. Before the charge takes anything:

- a key with a list of ``operations`` may charge only those: a usage event, a hold or a
  debit of another operation, or of none, is :class:`OperationNotAllowed` (rejected,
  nothing stored);
- a capped key may spend at most ``cap_micros`` in a window (a UTC day or month): a
  charge whose cost is more than the room left is :class:`KeyCapExceeded` (a usage
  event is stored as refused, so its retry gets the same answer; a debit stores its
  refusal under its idempotency key; a hold is refused), and nothing is charged.

What a key spent in a window is a counter per (key, window start), loaded with the
group's books under the organization's lock (a key belongs to one organization, so
that lock serializes its counter in every process) and moved in the same transaction:
usage and debits add their cost; a **hold** counts whole while open, in the window it
was made in, and so do its increases; its **commit** keeps the captured amount and
frees the rest (a commit's excess over its hold is covered only as far as the cap's
room allows; the rest is its shortfall, as past a flex limit); a **release** or an
expiry frees it all. An operator's void, amendment or credit-back of a usage event
gives credits back to the organization, not room to the key. Keys without limits are
never named by a charge from the HTTP API and cost nothing.
"""

from __future__ import annotations

from datetime import datetime

from creditline.domain.api_keys import ApiKey, window_bounds
from creditline.domain.charging.books import Books
from creditline.domain.charging.outcome import Decision
from creditline.domain.errors import (
    ApiKeyNotFound,
    InvalidSetting,
    KeyCapExceeded,
    OperationNotAllowed,
)

__all__ = ["Slot", "check_operation", "check_room", "count", "key_of", "room", "slot_of", "used"]

Slot = tuple[str, datetime]
"""A key's counter: (key id, window start)."""


def key_of(books: Books, key_id: str, org_id: str) -> ApiKey | None:
    """The key a command names, which must be the charged organization's, if it has
    limits (``None``: a key without any charges as no key does).

    Raises:
        ApiKeyNotFound: no such key. InvalidSetting: a key of another organization.
    """
    key = books.key_limits.get(key_id)
    if key is None:
        raise ApiKeyNotFound(key_id)
    if key.org_id != org_id:
        raise InvalidSetting("key_id", key_id, f"a key of the organization charged ({org_id})")
    return key if key.limited else None


def check_operation(key: ApiKey, operation: str | None) -> None:
    """Raises :class:`OperationNotAllowed` unless the key may charge ``operation``."""
    allowed = key.operations
    if allowed is not None and operation not in allowed:
        raise OperationNotAllowed(key.id, operation, allowed)


def slot_of(key: ApiKey, at: datetime) -> Slot | None:
    """The counter a charge at ``at`` counts in; ``None`` for a key without a cap."""
    if key.cap_window is None or key.cap_micros is None:
        return None
    return key.id, window_bounds(key.cap_window, at)[0]


def used(books: Books, out: Decision, slot: Slot) -> int:
    """Micro-credits counted in ``slot``: as loaded, and by this group so far."""
    return books.key_used.get(slot, 0) + out.key_usage.get(slot, 0)


def room(books: Books, out: Decision, key: ApiKey, slot: Slot) -> int:
    """Micro-credits the key may still spend in the slot's window."""
    assert key.cap_micros is not None
    return max(0, key.cap_micros - used(books, out, slot))


def check_room(books: Books, out: Decision, key: ApiKey, slot: Slot, cost: int) -> None:
    """Raises :class:`KeyCapExceeded` when ``cost`` is more than the key's room."""
    spent = used(books, out, slot)
    assert key.cap_micros is not None and key.cap_window is not None
    if cost > 0 and spent + cost > key.cap_micros:
        raise KeyCapExceeded(key.id, key.cap_micros, spent, cost, key.cap_window.value)


def count(out: Decision, slot: Slot | None, amount: int) -> None:
    """Move the slot's counter by ``amount`` (negative: freed)."""
    if slot is not None and amount:
        usage = out.key_usage
        usage[slot] = usage.get(slot, 0) + amount
