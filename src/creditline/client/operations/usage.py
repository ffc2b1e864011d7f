"""Usage (C1): recording, voiding, amending events, and reading them back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from creditline.client import decode
from creditline.client._wire import Flow, op, seg
from creditline.client.operations._requests import (
    compact,
    event_doc,
    fetch,
    fetch_each,
    org_get,
    org_post,
    problem_error,
    quantities_doc,
    query_params,
    steps_doc,
)
from creditline.domain.grants import Grant
from creditline.domain.overview import Overview
from creditline.domain.reports import UsageReport
from creditline.domain.usage import EventResult, StoredUsage, UsageEvent, UsageStep


class UsageOperations:
    """Usage (C1): recording, voiding, amending events, and reading them back."""

    @op
    def record_usage(
        self, events: Sequence[UsageEvent], *, key_id: str | None = None
    ) -> Flow[list[EventResult]]:
        """Price, gate and charge events; a result per event, in order. The events of
        one organization are one transaction (one batch request each).
        ``key_id`` is the library's way to name a limited key: the service applies the
        limits of the key this client calls with, and the argument is not sent."""
        results: list[EventResult | None] = [None] * len(events)
        by_org: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            by_org.setdefault(event.org_id, []).append(i)
        for org_id, indexes in by_org.items():
            body = {"events": [event_doc(events[i]) for i in indexes]}
            reply = yield org_post(org_id, "/usage/batch", body)
            for out in reply.json()["results"]:
                results[indexes[out["index"]]] = decode.batch_result(out, org_id)
        return [r for r in results if r is not None]

    @op
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
    ) -> Flow[EventResult]:
        """Record one usage event. A refusal (402, 403) or rejection (404, 422) is a
        result with its ``error``, as the library's; it is not raised.
        ``key_id`` is the library's way to name a limited key: the service applies the
        limits of the key this client calls with, and the argument is not sent."""
        body = compact(
            event_id=event_id,
            operation=operation,
            occurred_at=occurred_at,
            quantities=quantities_doc(quantities),
            dimensions=None if dimensions is None else dict(dimensions),
            project_id=project_id,
            member_id=member_id,
            steps=steps_doc(steps),
            metadata=None if metadata is None else dict(metadata),
            quote_id=quote_id,
        )
        reply = yield org_post(org_id, "/usage", body, problems_ok=True)
        answer = reply.json()
        if not reply.is_problem:
            return decode.event_result(answer)
        error = problem_error(reply, org_id)
        if not isinstance(answer.get("event"), Mapping):
            raise error
        return decode.event_result(answer["event"], error)

    @op
    def void_event(self, org_id: str, event_id: str) -> Flow[StoredUsage]:
        """Cancel an event (operator): its credits go back to the grants that paid."""
        return (
            yield from fetch(decode.stored_usage, org_post(org_id, f"/usage/{seg(event_id)}/void"))
        )

    @op
    def amend_event(
        self,
        org_id: str,
        event_id: str,
        quantities: Mapping[str, Any],
        dimensions: Mapping[str, str] | None = None,
    ) -> Flow[StoredUsage]:
        """Re-price an event with corrected usage at its own time (operator)."""
        body = compact(
            quantities=dict(quantities), dimensions=None if dimensions is None else dict(dimensions)
        )
        return (
            yield from fetch(
                decode.stored_usage, org_post(org_id, f"/usage/{seg(event_id)}/amend", body)
            )
        )

    @op
    def credit_back(
        self, org_id: str, event_id: str, reason: str = "acceptance criteria not met"
    ) -> Flow[Grant]:
        """Credit back an event's fee (operator): a refund grant caused by the event,
        once per event."""
        path = f"/usage/{seg(event_id)}/credit-back"
        return (yield from fetch(decode.grant, org_post(org_id, path, {"reason": reason})))

    @op
    def usage_event(self, org_id: str, event_id: str) -> Flow[StoredUsage]:
        return (yield from fetch(decode.stored_usage, org_get(org_id, f"/usage/{seg(event_id)}")))

    @op
    def usage_events(self, org_id: str, limit: int = 100) -> Flow[list[StoredUsage]]:
        return (
            yield from fetch_each(
                decode.stored_usage, org_get(org_id, "/usage", query_params(limit=limit))
            )
        )

    @op
    def usage_report(
        self,
        org_id: str,
        group_by: Sequence[str] = ("project",),
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        period: str | None = None,
    ) -> Flow[UsageReport]:
        """Accepted usage grouped by ``project``, ``operation``, ``member`` and ``period``."""
        query = query_params(group_by=list(group_by), period=period, since=since, until=until)
        return (yield from fetch(decode.usage_report, org_get(org_id, "/reports/usage", query)))

    @op
    def overview(self, org_id: str, *, history_days: int = 0) -> Flow[Overview]:
        """The dashboard's data: credits by kind, state flags, cycle, burn-down, forecast
        (with at least ``history_days`` days of burn-down history)."""
        query = query_params(history_days=history_days or None)
        return (yield from fetch(decode.overview, org_get(org_id, "/overview", query)))
