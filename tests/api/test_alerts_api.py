"""Alerts and outgoing webhooks through the HTTP API, on SQLite and PostgreSQL: alert
rules, webhook endpoints (their secret shown once), an alert evaluated and delivered to
a real local receiver that verifies its Standard Webhooks signature, the delivery log,
re-sending, the operator's routes, tenancy (another organization's things are 404) and
roles (a read-only key cannot write)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from creditline import credits
from tests.alerting import receiver
from tests.api.conftest import Tenant, World

PROBLEM = "urn:creditline:problem:"
SECOND = timedelta(seconds=1)


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug, body
    return body


def _deplete(world: World, org: str) -> None:
    """Spend every available credit (held ones stay held): a ``depleted`` rule fires."""
    world.cl.spend(org, world.cl.balance(org).available)


def _endpoint(world: World, tenant: Tenant, url: str, **body: Any) -> dict[str, Any]:
    made = world.post(f"/v1/orgs/{tenant.org}/webhook-endpoints", {"url": url, **body}, tenant.key)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def _rule(world: World, tenant: Tenant, **body: Any) -> dict[str, Any]:
    made = world.post(f"/v1/orgs/{tenant.org}/alerts", body, tenant.key)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def test_rules_are_added_listed_and_disabled(world: World) -> None:
    a = world.tenant("Alpha")
    low = _rule(world, a, kind="remaining_below", threshold="50", rearm_above_micros=60_000_000)
    assert low["id"].startswith("alr_") and low["org_id"] == a.org
    assert low["event_type"] == "credits.below_threshold"
    assert low["description"] == "remaining below 50 credits"
    params = low["params"]
    assert (params["threshold"], params["threshold_micros"]) == ("50", credits(50))
    assert (params["rearm_above"], params["rearm_above_micros"]) == ("60", credits(60))
    assert params["percent"] is None and params["lookback_days"] is None
    assert low["channels"] == ["webhook"] and low["email"] is None
    assert low["state"]["state"] == "armed" and low["state"]["fired_count"] == 0
    assert low["disabled_at"] is None
    world.clock.advance(SECOND)  # listed oldest first
    empty = _rule(world, a, kind="depleted", email="ops@alpha.example")
    assert empty["channels"] == ["webhook", "email"]
    world.clock.advance(SECOND)
    forecast = _rule(world, a, kind="forecast_depletion", days=3, channels=["webhook"])
    assert forecast["params"]["days"] == 3

    listed = world.get(f"/v1/orgs/{a.org}/alerts", a.read_key)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [low["id"], empty["id"], forecast["id"]]

    disabled = world.post(f"/v1/orgs/{a.org}/alerts/{empty['id']}/disable", key=a.key)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    active = world.get(f"/v1/orgs/{a.org}/alerts", a.read_key).json()
    assert [r["id"] for r in active] == [low["id"], forecast["id"]]
    every = world.get(f"/v1/orgs/{a.org}/alerts?include_disabled=true", a.read_key).json()
    assert [r["id"] for r in every] == [low["id"], empty["id"], forecast["id"]]
    assert [r.id for r in world.cl.alert_rules(a.org)] == [low["id"], forecast["id"]]


def test_an_invalid_rule_is_422_listing_every_problem(world: World) -> None:
    a = world.tenant("Alpha")
    refused = world.post(
        f"/v1/orgs/{a.org}/alerts",
        {"kind": "remaining_below", "percent": 500, "channels": ["pager"]},
        a.key,
    )
    body = _problem(refused, 422, "invalid-alert-rule")
    fields = {e["field"] for e in body["errors"]}
    assert {"threshold", "percent", "channels"} <= fields
    unknown = world.post(f"/v1/orgs/{a.org}/alerts", {"kind": "sometimes"}, a.key)
    assert _problem(unknown, 422, "invalid-alert-rule")["errors"][0]["field"] == "kind"
    assert world.cl.alert_rules(a.org, include_disabled=True) == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "depleted", "org_id": "org_other"},  # an unknown field
        {"kind": "remaining_below", "threshold": "5", "threshold_micros": 5_000_000},
        {"kind": "remaining_below", "threshold": 5},  # credits are decimal text
        {"kind": "remaining_below", "threshold": "1.0000001"},
        {"kind": "remaining_below", "threshold_micros": "5000000"},
        {"kind": "remaining_below", "threshold_micros": True},
        {"kind": "depleted", "channels": "webhook"},
        {"threshold": "5"},  # no kind
        {"kind": 7},
    ],
)
def test_a_malformed_rule_body_is_422(world: World, body: dict[str, Any]) -> None:
    a = world.tenant("Alpha")
    refused = world.post(f"/v1/orgs/{a.org}/alerts", body, a.key)
    _problem(refused, 422, "invalid-request")
    assert world.cl.alert_rules(a.org, include_disabled=True) == []


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"url": "ftp://hooks.example/x"}, "webhook-url-refused"),
        ({"url": "https://hooks.example/x", "event_types": ["credits.gone"]}, "invalid-setting"),
        ({"url": "https://hooks.example/x", "secret": "whsec_mine"}, "invalid-request"),
        ({"url": "https://hooks.example/x", "org_id": None}, "invalid-request"),
        ({"event_types": []}, "invalid-request"),
        ({"url": ["https://hooks.example/x"]}, "invalid-request"),
    ],
)
def test_a_bad_endpoint_body_is_422(world: World, body: dict[str, Any], slug: str) -> None:
    a = world.tenant("Alpha")
    refused = world.post(f"/v1/orgs/{a.org}/webhook-endpoints", body, a.key)
    _problem(refused, 422, slug)
    assert world.cl.webhook_endpoints(include_disabled=True) == []


def test_an_endpoints_secret_is_shown_once(world: World) -> None:
    a = world.tenant("Alpha")
    made = _endpoint(
        world, a, "https://alpha.example/hooks", event_types=["credits.depleted"],
        description="ops",
    )  # fmt: skip
    secret = made["secret"]
    assert secret.startswith("whsec_") and made["id"].startswith("whe_")
    assert (made["org_id"], made["event_types"], made["description"]) == (
        a.org, ["credits.depleted"], "ops",
    )  # fmt: skip
    listed = world.get(f"/v1/orgs/{a.org}/webhook-endpoints", a.read_key)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == [made["id"]]
    assert "secret" not in listed.json()[0] and secret not in listed.text
    everything = world.get("/v1/webhook-endpoints?include_disabled=true")
    assert [e["id"] for e in everything.json()] == [made["id"]]
    assert secret not in everything.text
    gone = world.post(f"/v1/orgs/{a.org}/webhook-endpoints/{made['id']}/disable", key=a.key)
    assert gone.status_code == 200 and gone.json()["disabled_at"] is not None
    assert secret not in gone.text
    assert world.get(f"/v1/orgs/{a.org}/webhook-endpoints", a.key).json() == []
    kept = world.get(f"/v1/orgs/{a.org}/webhook-endpoints?include_disabled=true", a.key).json()
    assert [e["id"] for e in kept] == [made["id"]]


def test_a_depletion_alert_is_evaluated_delivered_signed_and_logged(world: World) -> None:
    a = world.tenant("Alpha")
    with receiver() as hooks:
        endpoint = _endpoint(world, a, hooks.url + "/alpha")
        hooks.verify_with("/alpha", endpoint["secret"])
        rule = _rule(world, a, kind="depleted")
        _deplete(world, a.org)

        evaluated = world.post("/v1/alerts/evaluate")
        assert evaluated.status_code == 200, evaluated.text
        run = evaluated.json()
        assert [(e["type"], e["org_id"], e["rule_id"]) for e in run["events"]] == [
            ("credits.depleted", a.org, rule["id"]),
        ]  # fmt: skip
        assert run["events"][0]["data"]["available_micros"] == 0
        assert (run["deliveries"], run["failed"]) == (1, [])
        fired = world.get(f"/v1/orgs/{a.org}/alerts", a.read_key).json()
        assert fired[0]["state"]["state"] == "fired" and fired[0]["state"]["fired_count"] == 1

        sent = world.post("/v1/webhook-deliveries/deliver")
        assert sent.status_code == 200, sent.text
        assert sent.json() == {"attempted": 1, "delivered": 1, "retrying": 0, "failed": 0}

    (got,) = hooks.received
    assert got.verified  # the Standard Webhooks signature, with the endpoint's secret
    assert got.payload["type"] == "credits.depleted"
    assert got.payload["data"]["org_id"] == a.org
    log = world.get(f"/v1/orgs/{a.org}/webhook-deliveries", a.read_key)
    assert log.status_code == 200
    (delivery,) = log.json()
    assert delivery["id"] == got.msg_id and delivery["endpoint_id"] == endpoint["id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered", 1, 200,
    )  # fmt: skip
    assert (delivery["rule_id"], delivery["event_type"]) == (rule["id"], "credits.depleted")
    assert delivery["payload"] == got.body.decode()  # the exact text signed and sent
    one = world.get(f"/v1/orgs/{a.org}/webhook-deliveries/{got.msg_id}", a.read_key).json()
    assert [(t["number"], t["ok"], t["status_code"]) for t in one["attempt_log"]] == [
        (1, True, 200)
    ]
    by_status = f"/v1/orgs/{a.org}/webhook-deliveries?status=pending&endpoint_id={endpoint['id']}"
    assert world.get(by_status, a.read_key).json() == []
    assert [d["id"] for d in world.get("/v1/webhook-deliveries?limit=5").json()] == [got.msg_id]


def test_a_failed_delivery_is_sent_again_on_redeliver(world: World) -> None:
    a = world.tenant("Alpha")
    with receiver(answers=[500]) as hooks:
        endpoint = _endpoint(world, a, hooks.url + "/alpha")
        hooks.verify_with("/alpha", endpoint["secret"])
        _rule(world, a, kind="remaining_below", threshold="1000")
        world.post("/v1/alerts/evaluate")
        first = world.post("/v1/webhook-deliveries/deliver").json()
        assert first == {"attempted": 1, "delivered": 0, "retrying": 1, "failed": 0}
        (pending,) = world.get(f"/v1/orgs/{a.org}/webhook-deliveries", a.key).json()
        assert (pending["status"], pending["last_status_code"]) == ("pending", 500)
        # The retry is due in 5 seconds and the clock stands still: nothing is due now.
        assert world.post("/v1/webhook-deliveries/deliver").json()["attempted"] == 0

        path = f"/v1/orgs/{a.org}/webhook-deliveries/{pending['id']}/redeliver"
        queued = world.post(path, key=a.key)
        assert queued.status_code == 200, queued.text
        assert queued.json()["status"] == "pending"
        due = datetime.fromisoformat(queued.json()["next_attempt_at"])
        assert due == world.clock.now()
        again = world.post("/v1/webhook-deliveries/deliver").json()
        assert again == {"attempted": 1, "delivered": 1, "retrying": 0, "failed": 0}

    assert [r.msg_id for r in hooks.received] == [pending["id"]] * 2
    assert all(r.verified for r in hooks.received)
    done = world.get(f"/v1/orgs/{a.org}/webhook-deliveries/{pending['id']}", a.key).json()
    assert done["status"] == "delivered"
    assert [(t["ok"], t["status_code"]) for t in done["attempt_log"]] == [
        (False, 500), (True, 200),
    ]  # fmt: skip
    # The operator re-sends any delivery: it is queued once more.
    resent = world.post(f"/v1/webhook-deliveries/{pending['id']}/redeliver")
    assert resent.status_code == 200 and resent.json()["status"] == "pending"


def test_an_operators_endpoint_gets_every_organizations_alerts(world: World) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    with receiver() as hooks:
        made = world.post("/v1/webhook-endpoints", {"url": hooks.url + "/ops"})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        assert endpoint["org_id"] is None and endpoint["secret"].startswith("whsec_")
        hooks.verify_with("/ops", endpoint["secret"])
        for tenant in (a, b):
            _rule(world, tenant, kind="depleted")
            _deplete(world, tenant.org)
        run = world.post("/v1/alerts/evaluate").json()
        assert sorted(e["org_id"] for e in run["events"]) == sorted([a.org, b.org])
        assert world.post("/v1/webhook-deliveries/deliver").json()["delivered"] == 2
    assert sorted(r.payload["data"]["org_id"] for r in hooks.received) == sorted([a.org, b.org])
    assert all(r.verified for r in hooks.received)
    everything = world.get(f"/v1/webhook-deliveries?endpoint_id={endpoint['id']}").json()
    assert len(everything) == 2
    one = world.get(f"/v1/webhook-deliveries/{everything[0]['id']}")
    assert one.status_code == 200 and len(one.json()["attempt_log"]) == 1
    # An organization's key neither lists nor disables the operator's endpoint.
    assert world.get(f"/v1/orgs/{a.org}/webhook-endpoints", a.key).json() == []
    theirs = world.post(f"/v1/orgs/{a.org}/webhook-endpoints/{endpoint['id']}/disable", key=a.key)
    _problem(theirs, 404, "webhook-endpoint-not-found")
    disabled = world.post(f"/v1/webhook-endpoints/{endpoint['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    rule = world.cl.alert_rules(b.org)[0]
    off = world.post(f"/v1/alerts/{rule.id}/disable")
    assert off.status_code == 200 and off.json()["disabled_at"] is not None
    _problem(world.post("/v1/alerts/alr_missing/disable"), 404, "alert-rule-not-found")
    _problem(world.get("/v1/webhook-deliveries/msg_missing"), 404, "webhook-delivery-not-found")


def test_org_a_gets_404_on_org_bs_rule_endpoint_and_delivery(world: World) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    endpoint = _endpoint(world, b, "http://127.0.0.1:9/beta")  # never sent: nothing delivers
    rule = _rule(world, b, kind="depleted")
    _deplete(world, b.org)
    assert world.post("/v1/alerts/evaluate").json()["deliveries"] == 1
    (delivery,) = world.cl.webhook_deliveries(b.org)
    before = (
        world.cl.alert_rules(b.org, include_disabled=True),
        world.cl.webhook_endpoints(b.org, include_disabled=True),
        world.cl.webhook_delivery(delivery.id),
    )
    mine = f"/v1/orgs/{a.org}"
    for call, slug in [
        (lambda: world.post(f"{mine}/alerts/{rule['id']}/disable", key=a.key),
         "alert-rule-not-found"),
        (lambda: world.post(f"{mine}/webhook-endpoints/{endpoint['id']}/disable", key=a.key),
         "webhook-endpoint-not-found"),
        (lambda: world.get(f"{mine}/webhook-deliveries/{delivery.id}", a.key),
         "webhook-delivery-not-found"),
        (lambda: world.post(f"{mine}/webhook-deliveries/{delivery.id}/redeliver", key=a.key),
         "webhook-delivery-not-found"),
        (lambda: world.get(f"/v1/orgs/{b.org}/alerts", a.key), "organization-not-found"),
        (lambda: world.get(f"/v1/orgs/{b.org}/webhook-deliveries", a.key),
         "organization-not-found"),
        (lambda: world.post(f"/v1/orgs/{b.org}/alerts", {"kind": "depleted"}, a.key),
         "organization-not-found"),
    ]:  # fmt: skip
        _problem(call(), 404, slug)
    for listing in ("alerts", "webhook-endpoints", "webhook-deliveries"):
        assert world.get(f"{mine}/{listing}", a.key).json() == []
    # The operator's routes are not an organization key's way around it.
    for method, path in [
        ("get", "/v1/webhook-endpoints"),
        ("get", "/v1/webhook-deliveries"),
        ("get", f"/v1/webhook-deliveries/{delivery.id}"),
        ("post", f"/v1/webhook-deliveries/{delivery.id}/redeliver"),
        ("post", f"/v1/webhook-endpoints/{endpoint['id']}/disable"),
        ("post", f"/v1/alerts/{rule['id']}/disable"),
        ("post", "/v1/alerts/evaluate"),
        ("post", "/v1/webhook-deliveries/deliver"),
    ]:
        answer = world.get(path, a.key) if method == "get" else world.post(path, key=a.key)
        _problem(answer, 403, "permission-denied")
    after = (
        world.cl.alert_rules(b.org, include_disabled=True),
        world.cl.webhook_endpoints(b.org, include_disabled=True),
        world.cl.webhook_delivery(delivery.id),
    )
    assert after == before


def test_a_read_only_key_reads_but_cannot_write(world: World) -> None:
    a = world.tenant("Alpha")
    endpoint = _endpoint(world, a, "http://127.0.0.1:9/alpha")
    rule = _rule(world, a, kind="depleted")
    _deplete(world, a.org)
    world.post("/v1/alerts/evaluate")
    (delivery,) = world.cl.webhook_deliveries(a.org)
    org = f"/v1/orgs/{a.org}"
    for path, body in [
        (f"{org}/alerts", {"kind": "depleted"}),
        (f"{org}/alerts/{rule['id']}/disable", None),
        (f"{org}/webhook-endpoints", {"url": "https://alpha.example/hooks"}),
        (f"{org}/webhook-endpoints/{endpoint['id']}/disable", None),
        (f"{org}/webhook-deliveries/{delivery.id}/redeliver", None),
    ]:
        _problem(world.post(path, body, a.read_key), 403, "permission-denied")
    for path in ("alerts", "webhook-endpoints", "webhook-deliveries"):
        assert world.get(f"{org}/{path}", a.read_key).status_code == 200
    assert world.cl.alert_rules(a.org)[0].active
    assert world.cl.webhook_endpoints(a.org)[0].active
    after = world.cl.webhook_delivery(delivery.id)
    assert (after.status, after.attempts, after.next_attempt_at) == (
        delivery.status, delivery.attempts, delivery.next_attempt_at,
    )  # fmt: skip


def test_delivery_queries_are_checked(world: World) -> None:
    a = world.tenant("Alpha")
    for query in ("status=lost", "limit=0", "limit=10001", "include_disabled=maybe"):
        path = f"/v1/orgs/{a.org}/webhook-deliveries?{query}"
        if query.startswith("include"):
            path = f"/v1/orgs/{a.org}/alerts?{query}"
        _problem(world.get(path, a.key), 422, "invalid-request")
    deliver = world.post("/v1/webhook-deliveries/deliver?limit=0")
    _problem(deliver, 422, "invalid-request")


def test_the_new_problem_types_are_listed(world: World) -> None:
    listed = {p["type"]: p["status"] for p in world.client.get("/problems").json()}
    for slug, status in [
        ("invalid-alert-rule", 422),
        ("alert-rule-not-found", 404),
        ("webhook-endpoint-not-found", 404),
        ("webhook-delivery-not-found", 404),
    ]:
        assert listed[PROBLEM + slug] == status


def test_a_used_at_least_percent_rule_is_offered_beside_the_remaining_one(world: World) -> None:
    a = world.tenant("Alpha")
    used = _rule(world, a, kind="used_percent", percent=50, rearm_percent=40)
    assert used["description"] == "used at least 50% of the cycle's grant"
    assert (used["params"]["percent"], used["params"]["rearm_percent"]) == (50, 40)
    assert used["event_type"] == "credits.below_threshold"
    below = _rule(world, a, kind="remaining_below_percent", percent=50)
    assert below["description"] == "remaining below 50% of the cycle's grant"
    bad = world.post(
        f"/v1/orgs/{a.org}/alerts", {"kind": "used_percent", "percent": 50, "rearm_percent": 60},
        a.key,
    )  # fmt: skip
    body = _problem(bad, 422, "invalid-alert-rule")
    assert body["errors"] == [
        {"field": "rearm_percent", "message": "must be at most percent (60 > 50)"}
    ]
