"""Alerts (E2): rules on an organization's credits, evaluated on every tick."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from creditline.domain.alerts import AlertRule
from creditline.facade.core import Core
from creditline.services import alerts, scheduler

__all__ = ["Alerts"]


class Alerts(Core):
    """Alert rules and their evaluation."""

    def add_alert(
        self,
        org_id: str,
        kind: str,
        *,
        threshold: int | None = None,
        rearm_above: int | None = None,
        percent: int | None = None,
        rearm_percent: int | None = None,
        days: int | None = None,
        rearm_days: int | None = None,
        lookback_days: int | None = None,
        channels: Sequence[str] | None = None,
        email: str | None = None,
    ) -> AlertRule:
        """Add an alert rule to an organization (see :mod:`creditline.domain.alerts`)::

            cl.add_alert(org.id, "remaining_below", threshold=credits(100))
            cl.add_alert(org.id, "remaining_below_percent", percent=20, email="ops@acme.example")
            cl.add_alert(org.id, "used_percent", percent=80)   # 80% or more of it used
            cl.add_alert(org.id, "forecast_depletion", days=3, lookback_days=7)

        ``kind``: ``remaining_below`` (``threshold`` micro-credits; re-arms at
        ``rearm_above``), ``remaining_below_percent`` (strictly below ``percent`` of the
        running cycle's grant; re-arms at ``rearm_percent``), ``used_percent`` (at least
        ``percent`` of that grant used; re-arms below ``rearm_percent`` used),
        ``depleted``, ``read_only``,
        ``forecast_depletion`` (``days``, over ``lookback_days`` of burn; re-arms beyond
        ``rearm_days``), ``payment_failed``. ``channels``: ``webhook`` and/or ``email``
        (default: ``webhook``, and ``email`` when an address is given).

        Raises:
            InvalidAlertRule: listing every problem; OrganizationNotFound.
        """
        params = {
            "threshold": threshold, "rearm_above": rearm_above, "percent": percent,
            "rearm_percent": rearm_percent, "days": days, "rearm_days": rearm_days,
            "lookback_days": lookback_days,
        }  # fmt: skip
        if channels is None:
            channels = ("webhook", "email") if email else ("webhook",)
        cmd = alerts.AddAlertRule(org_id, kind, params, tuple(channels), email)
        return self._run(lambda: alerts.add_rule(cmd, self._uow(), self.clock))

    def alert_rules(self, org_id: str, include_disabled: bool = False) -> list[AlertRule]:
        """The organization's alert rules with their states (armed or fired), oldest first."""
        return self._run(
            lambda: alerts.list_rules(org_id, self._uow(read_only=True), include_disabled)
        )

    def disable_alert(self, rule_id: str, org_id: str | None = None) -> AlertRule:
        """Disable an alert rule (``org_id``: only if it is that organization's).

        Raises:
            AlertRuleNotFound: no such rule (or not ``org_id``'s).
        """
        return self._run(lambda: alerts.remove_rule(rule_id, org_id, self._uow(), self.clock))

    def evaluate_alerts(self) -> alerts.AlertRun:
        """Evaluate every alert rule now: each fires once per crossing, its deliveries
        enqueued in the transaction of its new state (:meth:`tick` does it every time)."""
        return alerts.evaluate_alerts(self._tx, self.clock, email=self._alert_mailer is not None)

    def _alerts_job(self, now: datetime) -> scheduler.JobOutcome:
        run = self.evaluate_alerts()
        summary = {
            "organizations": run.organizations,
            "fired": [e.type for e in run.events],
            "rearmed": run.rearmed,
            "deliveries": run.deliveries,
            "failed": [{"org_id": org, "error": str(exc)} for org, exc in run.failed],
        }
        return scheduler.JobOutcome(summary, tuple(exc for _, exc in run.failed))
