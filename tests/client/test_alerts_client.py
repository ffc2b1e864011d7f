"""Alerts and outgoing webhooks through the client: an alert fired and delivered by a
real service to a local receiver that verifies its signature, the delivery log in the
library's own types, re-sending, the operator's endpoints; and the alert errors coming
back from their problem details as the library's classes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from creditline import credits
from creditline.client import AsyncClient, Client, error_from_problem
from creditline.domain import errors as e
from creditline.domain.alerts import AlertRule, RuleState
from creditline.domain.deliveries import Delivery, DeliveryAttempt, DeliveryStatus
from creditline.entrypoints.api.problems import problem
from creditline.services.alerts import AlertRun
from creditline.services.deliveries import DeliveryRun
from tests.alerting import Receiver, receiver
from tests.client.conftest import SERVER, Server

# The service's own scheduler ticks too (every 10 seconds): it may fire and deliver
# before the test asks, so the tests wait for outcomes, not for who produced them.
PATIENCE = 30.0


def _deliver_until(client: Client, hooks: Receiver, count: int) -> None:
    """Run deliveries until the receiver has got ``count`` requests."""
    deadline = time.monotonic() + PATIENCE
    while len(hooks.received) < count:
        assert time.monotonic() < deadline, f"got {len(hooks.received)} of {count}"
        assert isinstance(client.deliver_webhooks(), DeliveryRun)
        time.sleep(0.05)


def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


@SERVER
def test_an_alert_is_fired_delivered_and_logged_through_the_client(client: Client) -> None:
    with receiver() as hooks:
        org = client.create_org("Hooked")
        client.grant(org.id, credits(1))
        endpoint = client.add_webhook(hooks.url + "/hooks", org_id=org.id)
        assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
        assert endpoint.org_id == org.id
        hooks.verify_with("/hooks", endpoint.secret)
        rule = client.add_alert(org.id, "depleted")
        assert isinstance(rule, AlertRule) and rule.state is not None
        assert rule.state.state is RuleState.ARMED
        client.spend(org.id, credits(1))

        run = client.evaluate_alerts()
        assert isinstance(run, AlertRun)
        assert {e.type for e in run.events if e.org_id == org.id} <= {"credits.depleted"}
        (fired,) = client.alert_rules(org.id)
        assert fired.state is not None and fired.state.state is RuleState.FIRED
        _deliver_until(client, hooks, 1)

        (delivery,) = client.webhook_deliveries(org.id)
        assert isinstance(delivery, Delivery)
        (got,) = hooks.received
        assert got.verified and got.msg_id == delivery.id
        assert got.payload["type"] == "credits.depleted"
        assert (delivery.status, delivery.endpoint_id, delivery.rule_id) == (
            DeliveryStatus.DELIVERED, endpoint.id, rule.id,
        )  # fmt: skip
        assert delivery.payload == got.body.decode()
        one = client.webhook_delivery(delivery.id, org.id)
        assert [(a.number, a.ok, a.status_code) for a in one.attempt_log] == [(1, True, 200)]
        assert isinstance(one.attempt_log[0], DeliveryAttempt)
        assert client.webhook_delivery(delivery.id) == one  # the operator's route
        assert [d.id for d in client.webhook_deliveries(endpoint_id=endpoint.id)] == [delivery.id]
        assert client.webhook_deliveries(org.id, status=DeliveryStatus.FAILED) == []

        queued = client.redeliver_webhook(delivery.id, org.id)
        assert queued.status is DeliveryStatus.PENDING
        _deliver_until(client, hooks, 2)
        assert [r.msg_id for r in hooks.received] == [delivery.id] * 2
        assert all(r.verified for r in hooks.received)
        _eventually(lambda: client.webhook_delivery(delivery.id).attempts == 2)

    removed = client.disable_webhook(endpoint.id, org.id)
    assert removed.disabled_at is not None and removed.secret is None
    assert client.webhook_endpoints(org.id) == []
    assert client.disable_alert(rule.id, org.id).disabled_at is not None


@SERVER
def test_an_operators_endpoint_is_added_listed_and_disabled(client: Client) -> None:
    # Nothing listens on port 9: what the scheduler may send there in between fails.
    endpoint = client.add_webhook("http://127.0.0.1:9/ops", event_types=["payment.failed"])
    try:
        assert endpoint.org_id is None and endpoint.secret is not None
        assert endpoint.event_types == ("payment.failed",)
        listed = {e.id: e for e in client.webhook_endpoints()}
        assert listed[endpoint.id].secret is None and listed[endpoint.id].org_id is None
    finally:
        removed = client.disable_webhook(endpoint.id)
    assert removed.disabled_at is not None
    assert endpoint.id not in {e.id for e in client.webhook_endpoints()}
    assert endpoint.id in {e.id for e in client.webhook_endpoints(include_disabled=True)}


@SERVER
def test_the_async_client_manages_alert_rules(server: Server) -> None:
    async def run() -> None:
        async with AsyncClient(server.url, server.key) as cl:
            org = await cl.create_org("Async alerts")
            rule = await cl.add_alert(org.id, "remaining_below", threshold=credits(2))
            assert rule.params.threshold == credits(2)
            assert [r.id for r in await cl.alert_rules(org.id)] == [rule.id]
            with pytest.raises(e.AlertRuleNotFound):
                await cl.disable_alert("alr_aaaaaaaaaaaaaaaaaaaaaaaa", org.id)
            with pytest.raises(e.InvalidAlertRule) as refused:
                await cl.add_alert(org.id, "remaining_below")
            assert refused.value.problems == ["threshold: required by a remaining_below rule"]

    asyncio.run(run())


@pytest.mark.parametrize(
    "error",
    [
        e.InvalidAlertRule(["threshold: required by a remaining_below rule", "kind: 'x' is bad"]),
        e.AlertRuleNotFound("alr_1"),
        e.WebhookEndpointNotFound("whe_1"),
        e.WebhookDeliveryNotFound("msg_1"),
    ],
    ids=lambda x: type(x).__name__,
)
def test_alert_errors_come_back_as_themselves(error: e.CreditlineError) -> None:
    body = problem(error, "req_7")
    back = error_from_problem(body, body["status"], "org_1")
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert {k: v for k, v in vars(back).items() if k != "__notes__"} == vars(error)
