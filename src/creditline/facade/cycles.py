"""Billing cycles and the scheduler (B4, B5, F1, F2): subscriptions, renewals, the tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditline.domain.errors import CreditlineError, InvalidSetting
from creditline.domain.plans import DepletionPolicy
from creditline.facade.grace import Grace
from creditline.facade.money import Money
from creditline.facade.plans import Plans
from creditline.services import cycles, scheduler

__all__ = ["Cycles", "RenewalReport"]


@dataclass(frozen=True, slots=True)
class RenewalReport:
    """What one ``renew_due`` run granted, per organization renewed, and the
    organizations whose renewal failed (each with its error; retried next run)."""

    organizations: tuple[cycles.Renewed, ...]
    failed: tuple[tuple[str, CreditlineError], ...] = ()

    @property
    def cycles(self) -> int:
        return sum(r.cycles for r in self.organizations)

    @property
    def grants(self) -> int:
        return sum(r.grants for r in self.organizations)

    @property
    def amount(self) -> int:
        return sum(r.amount for r in self.organizations)


class Cycles(Plans, Grace, Money):
    """Subscriptions, their renewals, and the time-driven work of each tick."""

    def subscribe(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        currency: str | None = None,
    ) -> cycles.PlanAssigned:
        """Put an organization on a plan and start its billing, in one transaction.

        A new subscription is granted the plan's sign-up grant (or its first cycle
        grant) at once, and every later cycle's grant by :meth:`renew_due`. Already
        subscribed to another plan: a plan change (B5), the cycle restarts now, what is
        left of the old plan's cycle-bound included credits is expired (cause
        ``plan_cycle``) and the new plan's cycle grant is granted. The same plan: only
        the settings change. ``None``: the subscription ends (credits stay until their
        own expiry).

        A plan with a ``fee`` bills every cycle on the monthly invoice, in ``currency``
        (one the plan is priced in; unsaid: the one it was billed in, or the plan's only
        one); a change or end mid-cycle applies the old plan's ``on_change`` (a prorated
        credit line, or none).

        Raises:
            OrganizationNotFound, PlanNotFound: nothing was changed.
            InvalidSetting: a currency the plan is not priced in (or none named among
                several).
        """
        return self.change_plan(
            org_id,
            plan,
            depletion=depletion,
            flex_enabled=flex_enabled,
            subscribe=True,
            currency=currency,
        )

    def subscription(self, org_id: str) -> cycles.SubscriptionStatus | None:
        """The organization's subscription and the cycle running now, or ``None``.

        Raises:
            OrganizationNotFound: no such organization.
        """
        return self._run(
            lambda: cycles.subscription_status(org_id, self._uow(read_only=True), self.clock)
        )

    def renew_due(self, limit: int = 1000) -> RenewalReport:
        """Grant every due cycle of every subscription, in order, each exactly once.

        Organizations are read ``limit`` at a time and each is renewed in its own
        transaction; one whose renewal fails is reported and retried by the next run.
        Safe to run from several processes at once.
        """
        now = self.clock.now()
        done: list[cycles.Renewed] = []
        failed: list[tuple[str, CreditlineError]] = []
        after: str | None = None

        def page(after: str | None) -> list[str]:
            return self._run(
                lambda: cycles.due_subscriptions(self._uow(read_only=True), now, limit, after)
            )

        while True:
            due = page(after)
            for org_id in due:
                try:
                    renewed = self._renew_org(org_id)
                except CreditlineError as exc:
                    failed.append((org_id, exc))
                    continue
                if renewed.cycles:
                    done.append(renewed)
            if len(due) < limit:
                return RenewalReport(tuple(done), tuple(failed))
            after = due[-1]

    def _renew_org(self, org_id: str) -> cycles.Renewed:
        return self._run(lambda: cycles.renew_subscription(org_id, self._uow(), self.clock))

    def add_tick_job(self, name: str, job: scheduler.TickJob) -> None:
        """Run ``job`` on every :meth:`tick`, after the renewals, the expiry and the jobs
        added before it. ``job(now)`` does what is due at ``now``, exactly once however
        often it runs, and returns a JSON-able summary for the tick's report.

        Raises:
            InvalidSetting: a name already taken (``renewals``, ``expiry`` and ``grace``
                are).
        """
        taken = {"renewals", "expiry", "grace", *(n for n, _ in self._tick_jobs)}
        if not isinstance(name, str) or not name.strip() or name in taken:
            raise InvalidSetting("tick job", name, f"a new name, not one of {sorted(taken)}")
        self._tick_jobs.append((name, job))

    def tick(self) -> scheduler.TickReport:
        """Run the time-driven work once, in order: cycle renewals, then expiry (which
        also releases overdue reservations), then grace's deadlines, then the jobs added
        by :meth:`add_tick_job`. After any downtime one tick catches up every missed cycle
        and expiry."""
        jobs: list[tuple[str, scheduler.TickJob]] = [
            ("renewals", self._renewals_job),
            ("expiry", self._expiry_job),
            ("grace", self._grace_job),
            *self._tick_jobs,
        ]
        return scheduler.run_jobs(jobs, self.clock.now())

    def _renewals_job(self, now: datetime) -> scheduler.JobOutcome:
        report = self.renew_due()
        summary = {
            "organizations": len(report.organizations),
            "cycles": report.cycles,
            "grants": report.grants,
            "amount_micros": report.amount,
            "failed": [{"org_id": org, "error": str(exc)} for org, exc in report.failed],
        }
        return scheduler.JobOutcome(summary, tuple(exc for _, exc in report.failed))

    def _expiry_job(self, now: datetime) -> dict[str, Any]:
        report = self.expire_due()
        return {
            "organizations": len(report.organizations),
            "grants": report.grants,
            "amount_micros": report.amount,
            "reservations": report.reservations,
        }
