"""Two-phase holds (C6): reserve credits, extend or increase them while the operation
runs, then commit or release them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from creditline.domain.errors import InvalidAmount, ReservationNotFound
from creditline.domain.ledger import Cause
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.facade.organizations import Organizations
from creditline.services.reservations import Extend, Increase, Reserve, Settle, Settlement

__all__ = ["Reservations"]


class Reservations(Organizations):
    """Reservations: holds for running operations."""

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
    ) -> Reservation:
        """Hold ``amount`` micro-credits for a running operation (released after ``ttl``).

        With ``key_id``, a limited API key's operations and cap apply: the hold counts
        against the cap while open (:meth:`create_api_key`).

        ``operation`` (and ``dimensions``) say what the hold is for: the scoped grants
        covering it are held first, and pay first for a commit beyond the hold (B7).

        Raises:
            InsufficientCredits: the spendable grants cannot cover the hold; nothing written.
        """
        cmd = Reserve(
            org_id, amount, ttl, cause, project_id, member_id, idempotency_key, metadata or {},
            operation, None if dimensions is None else dict(dimensions), key_id,
        )  # fmt: skip
        return self._write(cmd)  # type: ignore[no-any-return]

    def commit(
        self,
        org_id: str,
        reservation_id: str,
        amount: int | None = None,
        *,
        final: bool = True,
        quote_id: str | None = None,
    ) -> Settlement:
        """Charge the actual cost of a held operation: from the hold first, then from
        the spendable grants; ``final=False`` commits one step and keeps the rest held.

        With a binding quote (``quote_id``, :meth:`issue_quote`), the cost is the quoted
        price (``amount`` may be left out; if given, it must be that price).

        Raises:
            InvalidAmount: neither an amount nor a quote.
        """
        if amount is None and quote_id is None:
            raise InvalidAmount(amount, "commit an amount, or a quote's price (quote_id)")
        cmd = Settle(org_id, reservation_id, amount, final, quote_id)
        return self._write(cmd)  # type: ignore[no-any-return]

    def extend_reservation(self, org_id: str, reservation_id: str, ttl: timedelta) -> Reservation:
        """A heartbeat: push an open hold's expiry to now + ``ttl``, while its operation
        runs. An expiry earlier than the hold's own changes nothing (it never shortens).

        Raises:
            InvalidSetting: the new expiry passes the hold's creation + its plan's
                longest hold (``max_hold_hours``; default 30 days); nothing changed.
            Conflict: the hold is already settled, released or expired.
            ReservationNotFound: no such hold in this organization.
        """
        return self._write(Extend(org_id, reservation_id, ttl))  # type: ignore[no-any-return]

    def increase_reservation(
        self, org_id: str, reservation_id: str, amount: int, *, idempotency_key: str | None = None
    ) -> Reservation:
        """Draw ``amount`` more micro-credits from the grants into an open hold (the
        estimate grew), as :meth:`reserve` draws: consumption order, scoped grants, no flex.
        With ``idempotency_key`` a retry draws nothing more and returns the hold.

        Raises:
            InsufficientCredits: the spendable grants cannot cover it; nothing changed.
            Conflict: the hold is already settled, released or expired.
            ReservationNotFound: no such hold in this organization.
        """
        cmd = Increase(org_id, reservation_id, amount, idempotency_key)
        return self._write(cmd)  # type: ignore[no-any-return]

    def release(self, org_id: str, reservation_id: str) -> Settlement:
        """Give the whole hold back (the operation failed through a system error)."""
        return self._write(Settle(org_id, reservation_id, None))  # type: ignore[no-any-return]

    def reservation(self, org_id: str, reservation_id: str) -> Reservation:
        found = self._find(
            lambda uow: uow.reservations.get(org_id, reservation_id),
            ReservationNotFound(reservation_id),
        )
        return found[0]

    def reservations(
        self, org_id: str, status: ReservationStatus | str | None = None, limit: int = 100
    ) -> list[Reservation]:
        self.get_org(org_id)
        state = None if status is None else ReservationStatus(status).value
        return self._tx(lambda uow: uow.reservations.of_org(org_id, state, limit), read_only=True)
