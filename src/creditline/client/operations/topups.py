"""Automatic and recurring top-ups (D9)."""

from __future__ import annotations

from datetime import datetime

from creditline.client import decode
from creditline.client._wire import Flow, op
from creditline.domain.topups import AutoTopup, RecurringTopup

from ._requests import compact, fetch, org_get, org_post, org_put


class TopupOperations:
    """Automatic and recurring top-ups (D9)."""

    @op
    def set_auto_topup(
        self,
        org_id: str,
        *,
        threshold: int,
        currency: str,
        pack: str | None = None,
        credits: int | None = None,
        target: int | None = None,
        monthly_cap: int | None = None,
        max_failures: int = 3,
    ) -> Flow[AutoTopup]:
        """Buy automatically below ``threshold`` micro-credits (see the library's)."""
        body = compact(
            threshold_micros=threshold, currency=currency, pack=pack, credits_micros=credits,
            target_micros=target, monthly_cap_minor=monthly_cap, max_failures=max_failures,
        )  # fmt: skip
        return (yield from fetch(decode.auto_topup, org_put(org_id, "/topups/auto", body)))

    @op
    def auto_topup(self, org_id: str) -> Flow[AutoTopup | None]:
        reply = yield org_get(org_id, "/topups/auto")
        found = reply.json()
        return None if found is None else decode.auto_topup(found)

    @op
    def disable_auto_topup(self, org_id: str) -> Flow[AutoTopup]:
        return (yield from fetch(decode.auto_topup, org_post(org_id, "/topups/auto/disable")))

    @op
    def set_recurring_topup(
        self,
        org_id: str,
        pack: str,
        *,
        currency: str,
        day: int,
        starts_at: datetime | None = None,
    ) -> Flow[RecurringTopup]:
        """Buy ``pack`` every month on ``day`` (1-28, UTC)."""
        body = compact(
            pack=pack, currency=currency, day=day,
            starts_at=None if starts_at is None else starts_at.isoformat(),
        )  # fmt: skip
        return (
            yield from fetch(decode.recurring_topup, org_put(org_id, "/topups/recurring", body))
        )

    @op
    def recurring_topup(self, org_id: str) -> Flow[RecurringTopup | None]:
        reply = yield org_get(org_id, "/topups/recurring")
        found = reply.json()
        return None if found is None else decode.recurring_topup(found)

    @op
    def cancel_recurring_topup(self, org_id: str) -> Flow[RecurringTopup]:
        return (
            yield from fetch(decode.recurring_topup, org_post(org_id, "/topups/recurring/cancel"))
        )
