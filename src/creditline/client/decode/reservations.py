"""Reservations and their settlements."""

from __future__ import annotations

from creditline.client.decode._common import Doc, decodes, record
from creditline.domain.reservations import Reservation
from creditline.services.reservations import Settlement


@decodes(Reservation)
def reservation(d: Doc) -> Reservation:
    """A reservation (what each grant holds is not in the answer: empty)."""
    return record(Reservation, d, holds=(), dimensions=dict(d.get("dimensions") or {}))


def settlement(d: Doc, replayed: bool = False) -> Settlement:
    return record(Settlement, d, replayed=bool(d["replayed"]) or replayed)
