"""Reservations (C6): holding credits for a running operation, extending and increasing
the hold while it runs, then settling."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from creditline.client import decode
from creditline.client._wire import Flow, op, seg
from creditline.client.operations._requests import (
    cause_doc,
    compact,
    fetch,
    fetch_each,
    org_get,
    org_post,
    query_params,
    whole_seconds,
)
from creditline.domain.errors import InvalidAmount
from creditline.domain.ledger import Cause
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.services.reservations import Settlement


class ReservationOperations:
    """Reservations (C6): holding credits for a running operation, then settling."""

    @op
    def reserve(
        self,
        org_id: str,
        amount: int,
        *,
        ttl: timedelta = timedelta(hours=1),
        cause: Cause | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
        key_id: str | None = None,
    ) -> Flow[Reservation]:
        """Hold ``amount`` micro-credits for a running operation (``ttl`` in whole seconds);
        for ``operation``, from the scoped grants covering it first (B7).
        ``key_id`` is the library's way to name a limited key: the service applies the
        limits of the key this client calls with, and the argument is not sent.

        Raises:
            InsufficientCredits: the spendable grants cannot cover the hold.
        """
        body = compact(
            amount_micros=amount,
            ttl_seconds=whole_seconds(ttl),
            project_id=project_id,
            member_id=member_id,
            cause=cause_doc(cause),
            metadata=metadata,
            operation=operation,
            dimensions=None if dimensions is None else dict(dimensions),
        )
        path = "/reservations"
        return (
            yield from fetch(decode.reservation, org_post(org_id, path, body, key=idempotency_key))
        )

    @op
    def commit(
        self,
        org_id: str,
        reservation_id: str,
        amount: int | None = None,
        *,
        final: bool = True,
        quote_id: str | None = None,
    ) -> Flow[Settlement]:
        """Charge the actual cost of a held operation, from the hold first (or a binding
        quote's price: ``quote_id``)."""
        if amount is None and quote_id is None:
            raise InvalidAmount(amount, "commit an amount, or a quote's price (quote_id)")
        path = f"/reservations/{seg(reservation_id)}/commit"
        body = compact(amount_micros=amount, final=final, quote_id=quote_id)
        return (yield from fetch(decode.settlement, org_post(org_id, path, body)))

    @op
    def extend_reservation(
        self, org_id: str, reservation_id: str, ttl: timedelta
    ) -> Flow[Reservation]:
        """A heartbeat: the open hold now expires ``ttl`` (whole seconds) from now, never
        earlier than it did, and never past its creation + its plan's ``max_hold_hours``.

        Raises:
            InvalidSetting: past the plan's longest hold. Conflict: the hold is settled.
        """
        path = f"/reservations/{seg(reservation_id)}/extend"
        body = {"ttl_seconds": whole_seconds(ttl)}
        return (yield from fetch(decode.reservation, org_post(org_id, path, body)))

    @op
    def increase_reservation(
        self, org_id: str, reservation_id: str, amount: int, *, idempotency_key: str | None = None
    ) -> Flow[Reservation]:
        """Draw ``amount`` more micro-credits from the grants into an open hold (a retry
        with the same ``idempotency_key`` draws nothing more).

        Raises:
            InsufficientCredits: the grants cannot cover it. Conflict: the hold is settled.
        """
        path = f"/reservations/{seg(reservation_id)}/increase"
        body = {"amount_micros": amount}
        request = org_post(org_id, path, body, key=idempotency_key)
        return (yield from fetch(decode.reservation, request))

    @op
    def release(self, org_id: str, reservation_id: str) -> Flow[Settlement]:
        """Give the whole hold back (the operation failed through a system error)."""
        path = f"/reservations/{seg(reservation_id)}/release"
        return (yield from fetch(decode.settlement, org_post(org_id, path)))

    @op
    def reservation(self, org_id: str, reservation_id: str) -> Flow[Reservation]:
        return (
            yield from fetch(
                decode.reservation, org_get(org_id, f"/reservations/{seg(reservation_id)}")
            )
        )

    @op
    def reservations(
        self, org_id: str, status: ReservationStatus | str | None = None, limit: int = 100
    ) -> Flow[list[Reservation]]:
        state = None if status is None else ReservationStatus(status)
        query = query_params(status=state, limit=limit)
        return (yield from fetch_each(decode.reservation, org_get(org_id, "/reservations", query)))
