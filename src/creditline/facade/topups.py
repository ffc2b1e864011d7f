"""Automatic and recurring top-ups (D9)."""

from __future__ import annotations

from datetime import datetime, timedelta

from creditline.domain.purchases import Purchase
from creditline.domain.topups import AutoTopup, RecurringTopup
from creditline.facade.organizations import Organizations
from creditline.services import purchases, scheduler, topups

__all__ = ["Topups"]


class Topups(Organizations):
    """Automatic and recurring top-ups, and their charging."""

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
    ) -> AutoTopup:
        """Buy automatically when the available credits fall below ``threshold``
        micro-credits: ``pack``, ``credits`` micro-credits at the any-amount rate, or
        enough to reach ``target`` micro-credits (exactly one of the three), charged
        off-session to the saved payment method in ``currency``. ``monthly_cap``: the
        most automatic top-ups may spend in a calendar month, in minor units (``None``:
        no cap). After ``max_failures`` declined charges in a row they are disabled and
        the ``payment_failed`` alerts fire. Exactly one top-up per crossing of the
        threshold (:mod:`creditline.domain.topups`). Replaces any setting, armed.

        Raises:
            OrganizationNotFound; InvalidSetting, PackNotFound, InvalidAmount: a setting
            the catalogue cannot sell.
        """
        cmd = topups.SetAutoTopup(
            org_id, threshold, currency, pack, credits, target, monthly_cap, max_failures
        )
        return topups.set_auto(cmd, self._tx, self.clock)

    def auto_topup(self, org_id: str) -> AutoTopup | None:
        """The organization's automatic top-up setting and its state (``None``: none)."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.topups.setting(org_id), read_only=True)

    def disable_auto_topup(self, org_id: str) -> AutoTopup:
        """Turn automatic top-ups off (:meth:`set_auto_topup` turns them on again)."""
        return topups.disable_auto(org_id, self._tx, self.clock)

    def set_recurring_topup(
        self,
        org_id: str,
        pack: str,
        *,
        currency: str,
        day: int,
        starts_at: datetime | None = None,
    ) -> RecurringTopup:
        """Buy ``pack`` every month on ``day`` (1-28, 00:00 UTC) from ``starts_at``
        (default now), charged off-session; the tick buys it, once per month, and once
        only after a downtime of any length. Replaces any recurring top-up."""
        cmd = topups.SetRecurringTopup(org_id, pack, currency, day, starts_at)
        return topups.set_recurring(cmd, self._tx, self.clock)

    def recurring_topup(self, org_id: str) -> RecurringTopup | None:
        self.get_org(org_id)
        return self._tx(lambda uow: uow.topups.schedule(org_id), read_only=True)

    def cancel_recurring_topup(self, org_id: str) -> RecurringTopup:
        return topups.cancel_recurring(org_id, self._tx, self.clock)

    def run_topups(self) -> topups.TopupRun:
        """Do the top-up work due now (the tick's ``topups`` job): charge the top-ups
        this process claimed and those left pending, buy the recurring ones due, and
        claim the crossings no charging group saw (expiry, refunds)."""
        self._topups.drain()
        return topups.run_topups(self._tx, self.payments, self.clock, stale=self._stale())

    def wait_topups(self) -> None:
        """Wait until the automatic top-ups claimed so far in this process are charged."""
        self._topups.drain()

    def _stale(self) -> timedelta:
        # without the background runner, nobody else charges what this process claimed
        return topups.STALE_AFTER if self._background_topups else timedelta(0)

    def _charge_claimed(self, purchase: Purchase) -> None:
        charged = topups.charge_topup(
            purchase.org_id, purchase.id, self._tx, self.payments, self.clock
        )
        if charged.receipt is not None:
            purchases.send_receipt(charged.receipt, self._tx, self._mailer, self.clock)

    def _topups_job(self, now: datetime) -> scheduler.JobOutcome:
        run = self.run_topups()
        summary = {**run.summary(),
                   "errors": [{"org_id": o, "error": str(e)} for o, e in run.errors]}  # fmt: skip
        return scheduler.JobOutcome(summary, tuple(e for _, e in run.errors))
