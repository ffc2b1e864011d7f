"""Each group of routes, through the HTTP API: what it answers and what it changes."""

from __future__ import annotations

from datetime import timedelta

from creditline import credits
from tests.api.conftest import World, bearer
from tests.billing import EXAMPLES


def test_an_operator_creates_an_organization_its_project_member_and_key(world: World) -> None:
    created = world.post("/v1/orgs", {"name": "Acme", "external_ref": "acme-1"})
    assert created.status_code == 201, created.text
    org = created.json()["id"]
    assert world.get(f"/v1/orgs/{org}").json()["name"] == "Acme"
    assert world.post(f"/v1/orgs/{org}/projects", {"name": "bot"}).status_code == 201
    member = world.post(f"/v1/orgs/{org}/members", {"name": "Ada", "email": "a@x.example"})
    assert member.status_code == 201
    assert [p["name"] for p in world.get(f"/v1/orgs/{org}/projects").json()] == ["bot"]
    assert [m["email"] for m in world.get(f"/v1/orgs/{org}/members").json()] == ["a@x.example"]
    again = world.post("/v1/orgs", {"name": "Other", "external_ref": "acme-1"})
    assert again.status_code == 409
    assert again.json()["type"] == "urn:creditline:problem:already-exists"
    issued = world.post("/v1/api-keys", {"role": "org", "org_id": org, "name": "backend"})
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert key.startswith("cl_live_")
    assert world.get(f"/v1/orgs/{org}/balance", key).status_code == 200
    listed = world.get(f"/v1/api-keys?org_id={org}").json()
    assert [k["id"] for k in listed] == [issued.json()["id"]]
    assert "key" not in listed[0] and key not in world.get("/v1/api-keys").text


def test_grants_spends_and_the_ledger_page_by_cursor(world: World) -> None:
    a = world.tenant("Alpha")
    grant = world.post(
        f"/v1/orgs/{a.org}/grants", {"amount_micros": 2_500_000, "kind": "promotional"}
    )
    assert grant.status_code == 201, grant.text
    assert grant.json()["amount"] == "2.5"
    spent = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "0.000001"}, key=a.key)
    assert spent.status_code == 201, spent.text
    assert spent.json()["amount_micros"] == 1
    balance = world.get(f"/v1/orgs/{a.org}/balance", a.read_key).json()
    assert balance["total_micros"] == world.cl.balance(a.org).total
    seen: list[int] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = world.get(f"/v1/orgs/{a.org}/ledger{query}", a.read_key).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e.id for e in world.cl.history(a.org, limit=100)]
    grants_only = world.get(f"/v1/orgs/{a.org}/ledger?type=grant", a.key).json()["items"]
    assert {e["type"] for e in grants_only} == {"grant"}
    taken = world.post(f"/v1/orgs/{a.org}/adjustments", {"amount": "-1", "reason": "fix"})
    assert taken.status_code == 201 and taken.json()["debit"]["amount"] == "1"


def test_spending_more_than_available_is_402_with_needed_and_available(world: World) -> None:
    a = world.tenant("Alpha")
    available = world.cl.balance(a.org).available
    refused = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "1000"}, key=a.key)
    assert refused.status_code == 402
    body = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert body["type"] == "urn:creditline:problem:insufficient-credits"
    assert body["needed_micros"] == credits(1000) and body["needed"] == "1000"
    assert body["available_micros"] == available
    assert world.cl.balance(a.org).available == available


def test_usage_one_by_one_and_in_batches_exactly_once(world: World) -> None:
    a = world.tenant("Alpha")
    event = {"event_id": "run-1", "operation": "translate", "quantities": {"characters": 250000}}
    first = world.post(f"/v1/orgs/{a.org}/usage", event, key=a.key)
    assert first.status_code == 201, first.text
    assert first.json()["cost"] == "2.5"
    again = world.post(f"/v1/orgs/{a.org}/usage", event, key=a.key)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    batch = {
        "events": [
            {"event_id": "run-2", "operation": "ping"},
            {"event_id": "run-1", "operation": "translate", "quantities": {"characters": 250000}},
            {"event_id": "run-3", "operation": "nope"},
            {"event_id": "run-4", "operation": "translate", "quantities": {"characters": 0.5}},
        ]
    }
    answered = world.post(f"/v1/orgs/{a.org}/usage/batch", batch, key=a.key)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert [r["status"] for r in body["results"]] == [
        "accepted", "duplicate", "rejected", "accepted",
    ]  # fmt: skip
    assert body["results"][2]["problem"] == "urn:creditline:problem:unknown-operation"
    assert body["results"][3]["cost_micros"] == 5  # 0.5 characters, exactly
    stored = world.get(f"/v1/orgs/{a.org}/usage/run-4", a.read_key).json()
    assert stored["quantities"] == {"characters": "0.5"}
    voided = world.post(f"/v1/orgs/{a.org}/usage/run-2/void")
    assert voided.status_code == 200 and voided.json()["status"] == "voided"


def test_cloudevents_structured_and_batch_mode_and_flat_data(world: World) -> None:
    a = world.tenant("Alpha")

    def event(ident: str, **data: object) -> dict[str, object]:
        return {
            "specversion": "1.0", "id": ident, "source": "/svc", "type": "translate",
            "subject": a.org, "time": "2025-12-31T12:00:00Z", "data": data,
        }  # fmt: skip

    single = world.client.post(
        "/v1/events",
        content=b'{"specversion":"1.0","id":"ce-1","source":"/svc","type":"translate",'
        + f'"subject":"{a.org}","time":"2025-12-31T12:00:00Z",'.encode()
        + b'"data":{"characters":1e6}}',
        headers={**bearer(a.key), "content-type": "application/cloudevents+json"},
    )
    assert single.status_code == 200, single.text
    assert single.json()["results"][0]["cost"] == "10"
    batch = world.client.post(
        "/v1/events",
        json=[
            event("ce-2", quantities={"characters": 100000}),
            event("ce-2", quantities={"characters": 100000}),
            {"id": 3},
        ],
        headers={**bearer(a.key), "content-type": "application/cloudevents-batch+json"},
    )
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "duplicate", "rejected"]
    assert results[0]["cost_micros"] == credits(1)


def test_quote_reservations_commit_and_release(world: World) -> None:
    a = world.tenant("Alpha")
    quote = world.post(
        f"/v1/orgs/{a.org}/quote", {"operation": "render", "dimensions": {"mode": "pro"}},
        key=a.read_key,
    )  # fmt: skip
    assert quote.status_code == 200, quote.text
    assert quote.json()["total"] == "3"
    hold = world.post(
        f"/v1/orgs/{a.org}/reservations", {"amount": "12", "ttl_seconds": 60}, key=a.key
    )
    assert hold.status_code == 201, hold.text
    rid = hold.json()["id"]
    assert world.cl.balance(a.org).held >= credits(12)
    done = world.post(f"/v1/orgs/{a.org}/reservations/{rid}/commit", {"amount": "10"}, key=a.key)
    assert done.status_code == 200, done.text
    assert done.json()["consumed"] == "10" and done.json()["released"] == "2"
    other = world.post(f"/v1/orgs/{a.org}/reservations", {"amount": "1"}, key=a.key).json()["id"]
    back = world.post(f"/v1/orgs/{a.org}/reservations/{other}/release", key=a.key)
    assert back.status_code == 200 and back.json()["released"] == "1"
    listed = world.get(f"/v1/orgs/{a.org}/reservations?status=open", a.key).json()
    assert rid not in [r["id"] for r in listed]
    huge = world.post(f"/v1/orgs/{a.org}/reservations", {"amount": "100000"}, key=a.key)
    assert huge.status_code == 402


def test_plan_gates_refuse_with_403_and_the_rule(world: World) -> None:
    a = world.tenant("Alpha")
    card = (EXAMPLES / "otai" / "ratecard.toml").read_text(encoding="utf-8")
    assert world.post("/v1/rate-cards", {"toml": card}).status_code == 201
    plans = (EXAMPLES / "otai" / "plans.toml").read_text(encoding="utf-8")
    world.cl.load_plans(plans)
    assert (
        world.client.put(
            f"/v1/orgs/{a.org}/rate-card",
            json={"rate_card": "otai"},
            headers=bearer(world.operator),
        ).status_code
        == 200
    )
    assigned = world.client.put(
        f"/v1/orgs/{a.org}/plan", json={"plan": "community"}, headers=bearer(world.operator)
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["plan"] == "community"
    event = {
        "event_id": "train-1", "operation": "train", "quantities": {"attributes": 3},
        "dimensions": {"mode": "Maximum", "delivery": "Fast"},
    }  # fmt: skip
    refused = world.post(f"/v1/orgs/{a.org}/usage", event, key=a.key)
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["type"] == "urn:creditline:problem:plan-gate-refused"
    assert body["rule"] == "dimensions.mode" and body["plan"] == "community"
    assert body["event"]["status"] == "refused"
    assert [p["name"] for p in world.get("/v1/plans", a.read_key).json()][:1] == ["community"]
    assert world.get("/v1/rate-cards/otai/current", a.read_key).json()["name"] == "otai"


def test_purchases_through_the_checkout_and_the_catalogue(world: World) -> None:
    a = world.tenant("Alpha")
    catalogue = world.get("/v1/packs", a.read_key).json()
    assert catalogue["name"] == "otai"
    bought = world.post(
        f"/v1/orgs/{a.org}/purchases", {"pack": "50-credits", "currency": "EUR"}, key=a.key
    )
    assert bought.status_code == 201, bought.text
    assert bought.json()["status"] == "pending" and bought.json()["checkout_url"]
    listed = world.get(f"/v1/orgs/{a.org}/purchases", a.read_key).json()
    assert bought.json()["id"] in [p["id"] for p in listed]
    assert world.get(f"/v1/orgs/{a.org}/billing-history", a.read_key).status_code == 200
    assert world.get(f"/v1/orgs/{a.org}/invoices", a.read_key).json() == []


def test_usage_report_by_project_operation_and_day_as_json_and_csv(world: World) -> None:
    a = world.tenant("Alpha")
    project = a.ids["project_id"]
    world.clock.advance(timedelta(days=1))
    world.cl.record(a.org, "r-1", "ping", project_id=project)
    world.cl.record(a.org, "r-2", "render", {}, {"mode": "max"})
    url = (
        f"/v1/orgs/{a.org}/reports/usage?group_by=project&group_by=operation&period=day"
        "&since=2025-12-01T00:00:00Z"
    )
    report = world.get(url, a.read_key).json()
    rows = {(r["project_id"], r["operation"], r["period"]): r["cost"] for r in report["rows"]}
    assert rows == {
        (project, "ping", "2026-01-01"): "1",
        (project, "ping", "2026-01-02"): "1",
        (None, "render", "2026-01-02"): "12",
    }
    names = {r["project_id"]: r["project_name"] for r in report["rows"]}
    assert names == {project: "bot", None: None}
    assert report["cost"] == "14" and report["events"] == 3
    csv = world.get(url + "&format=csv", a.read_key)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == (
        "project_id,project_name,operation,period,events,cost,cost_micros"
    )


def test_operations_health_readiness_metrics_problems(world: World) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok"}
    assert world.client.get("/readyz").json() == {"status": "ok"}
    a = world.tenant("Alpha")
    world.post(f"/v1/orgs/{a.org}/usage", {"event_id": "m-1", "operation": "ping"}, key=a.key)
    metrics = world.client.get("/metrics").text
    assert 'creditline_usage_events_total{status="accepted"} 1.0' in metrics
    assert "creditline_credits_consumed_micros_total 1e+06" in metrics
    assert 'route="/v1/orgs/{org_id}/usage"' in metrics
    types = {p["type"] for p in world.client.get("/problems").json()}
    assert "urn:creditline:problem:insufficient-credits" in types
    response = world.client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert world.post("/v1/tick").json()["ok"] is True
    assert world.get("/v1/verify").json()["ok"] is True


def test_the_openapi_document_describes_every_route_with_examples(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert all("default" in op["responses"] for op in operations)
    posts = {
        route: op
        for route, path in schema["paths"].items()
        for m, op in path.items()
        if m == "post"
    }
    # every POST takes a key, but a provider's webhook (deduplicated by its event id)
    keyed = {
        r
        for r, op in posts.items()
        if any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    }
    assert set(posts) - keyed == {"/webhooks/stripe"}
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert "examples" in schema["components"]["schemas"]["GrantCreate"]
