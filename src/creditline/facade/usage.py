"""Metering (C1): recording usage events, voiding, amending and crediting them back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from creditline.domain.errors import UsageEventNotFound
from creditline.domain.grants import Grant
from creditline.domain.usage import EventResult, StoredUsage, UsageEvent, UsageStep
from creditline.facade.organizations import Organizations
from creditline.services import usage
from creditline.services.usage import AmendEvent, CreditBack, RecordUsage

__all__ = ["Usage"]


class Usage(Organizations):
    """Usage events: priced, gated and charged."""

    def record_usage(
        self, events: Sequence[UsageEvent], *, key_id: str | None = None
    ) -> list[EventResult]:
        """Price, gate and charge a batch of events in one transaction; a result per event.

        Each event is accepted, refused (by the plan's gates or the depletion policy;
        stored, so a retry gets the same answer), rejected (bad input; nothing stored)
        or a duplicate of an event id already recorded (the first outcome). With
        ``key_id``, a limited API key's operations and cap apply (see
        :meth:`create_api_key`).
        """
        return self._write(RecordUsage(list(events), key_id))  # type: ignore[no-any-return]

    def record(
        self,
        org_id: str,
        event_id: str,
        operation: str,
        quantities: Mapping[str, Any] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        occurred_at: datetime | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        steps: Sequence[UsageStep] = (),
        metadata: Mapping[str, Any] | None = None,
        quote_id: str | None = None,
        key_id: str | None = None,
    ) -> EventResult:
        """Record one usage event (see :meth:`record_usage`). Without ``occurred_at`` the
        event is stamped with the time it is first received, and recording it again
        without a time is a duplicate (the first outcome), not a reused id. With a
        binding quote (``quote_id``, :meth:`issue_quote`) it is charged the quoted price,
        or rejected (``QuoteExpired``, ``QuoteUsed``, ``QuoteMismatch``, ``QuoteNotFound``)."""
        event = UsageEvent(
            event_id, org_id, operation, occurred_at, dict(quantities or {}),
            dict(dimensions or {}), project_id, member_id, None, tuple(steps),
            dict(metadata or {}), quote_id,
        )  # fmt: skip
        (result,) = self.record_usage([event], key_id=key_id)
        return result

    def void_event(self, org_id: str, event_id: str) -> StoredUsage:
        """Cancel an event: its credits go back to the grants that paid, expiry unchanged."""
        return self._run(lambda: usage.void_event(org_id, event_id, self._uow(), self.clock))

    def amend_event(
        self,
        org_id: str,
        event_id: str,
        quantities: Mapping[str, Any],
        dimensions: Mapping[str, str] | None = None,
    ) -> StoredUsage:
        """Re-price an event with corrected usage at its own time; charge or give back the
        difference."""
        cmd = AmendEvent(org_id, event_id, dict(quantities), None if dimensions is None
                         else dict(dimensions))  # fmt: skip
        return self._run(lambda: usage.amend_event(cmd, self._uow(), self.clock))

    def credit_back(
        self, org_id: str, event_id: str, reason: str = "acceptance criteria not met"
    ) -> Grant:
        """Credit back an accepted event's fee (seed 003: a training run whose acceptance
        criteria were not met): a new general ``refund`` grant of the event's cost, its
        ``grant`` entry caused by the event (``usage_event:<id>``). The event stays
        accepted. At most once per event: a second call answers the first grant.

        Raises:
            UsageEventNotFound: no such event; InvalidUsage: not accepted, or free.
        """
        cmd = CreditBack(org_id, event_id, reason)
        return self._run(lambda: usage.credit_back_event(cmd, self._uow(), self.clock))

    def usage_event(self, org_id: str, event_id: str) -> StoredUsage:
        return self._find(lambda uow: uow.usage.get(org_id, event_id), UsageEventNotFound(event_id))

    def usage_events(self, org_id: str, limit: int = 100) -> list[StoredUsage]:
        self.get_org(org_id)
        return self._tx(lambda uow: uow.usage.of_org(org_id, limit), read_only=True)
