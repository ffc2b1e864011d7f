"""Alert rules (E2)."""

from __future__ import annotations

from collections.abc import Sequence

from creditline.client import decode
from creditline.client._wire import Flow, op, post, seg
from creditline.domain.alerts import AlertRule
from creditline.services.alerts import AlertRun

from ._requests import compact, fetch, fetch_each, org_get, org_post, query_params


class AlertOperations:
    """Alert rules (E2)."""

    @op
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
    ) -> Flow[AlertRule]:
        """Add an alert rule to an organization (``threshold`` and ``rearm_above`` in
        micro-credits); see :meth:`Creditline.add_alert`.

        Raises:
            InvalidAlertRule: listing every problem; OrganizationNotFound.
        """
        body = compact(
            kind=kind,
            threshold_micros=threshold,
            rearm_above_micros=rearm_above,
            percent=percent,
            rearm_percent=rearm_percent,
            days=days,
            rearm_days=rearm_days,
            lookback_days=lookback_days,
            channels=None if channels is None else list(channels),
            email=email,
        )
        return (yield from fetch(decode.alert_rule, org_post(org_id, "/alerts", body)))

    @op
    def alert_rules(self, org_id: str, include_disabled: bool = False) -> Flow[list[AlertRule]]:
        """The organization's alert rules with their states, oldest first."""
        query = query_params(include_disabled=include_disabled)
        return (yield from fetch_each(decode.alert_rule, org_get(org_id, "/alerts", query)))

    @op
    def disable_alert(self, rule_id: str, org_id: str | None = None) -> Flow[AlertRule]:
        """Disable an alert rule (``org_id``: only if it is that organization's; without
        it, an operator's call).

        Raises:
            AlertRuleNotFound: no such rule (or not ``org_id``'s).
        """
        path = f"/alerts/{seg(rule_id)}/disable"
        return (yield from fetch(decode.alert_rule, org_post(org_id, path)))

    @op
    def evaluate_alerts(self) -> Flow[AlertRun]:
        """Evaluate every alert rule now (operator); the service's scheduler does it too."""
        return (yield from fetch(decode.alert_run, post("/v1/alerts/evaluate")))
