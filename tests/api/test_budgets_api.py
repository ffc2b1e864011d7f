"""Budgets through the HTTP API, on SQLite and PostgreSQL: made, listed with their
consumption and deleted; a charge past a hard budget answers 402 ``budget-exceeded``
with the budget's members and changes nothing; a bad budget 422 listing every problem;
a read-only key cannot write."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World

PROBLEM = "urn:creditline:problem:"


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug, body
    return body


def test_a_spend_past_a_hard_budget_answers_402_naming_it_and_changes_nothing(
    world: World,
) -> None:
    t = world.tenant("Acme")
    base = f"/v1/orgs/{t.org}"
    made = world.post(f"{base}/budgets", {"scope": "project", "scope_id": t.ids["project_id"],
                      "amount": "10", "period": "day", "alerts": [80]}, t.key)  # fmt: skip
    assert made.status_code == 201, made.text
    budget = made.json()
    # the tenant's world recorded a one-credit ping for this project today
    assert (budget["consumed"], budget["room"], budget["mode"]) == ("1", "9", "hard")
    ok = world.post(f"{base}/spend", {"amount": "8", "project_id": t.ids["project_id"]}, t.key)
    assert ok.status_code in (200, 201), ok.text
    before = world.cl.balance(t.org)
    refused = world.post(f"{base}/spend", {"amount": "2", "project_id": t.ids["project_id"]},
                         t.key)  # fmt: skip
    body = _problem(refused, 402, "budget-exceeded")
    assert (body["budget_id"], body["amount"], body["used"], body["needed"], body["room"]) == (
        budget["id"], 10_000_000, 9_000_000, 2_000_000, 1_000_000,
    )  # fmt: skip
    assert body["scope"] == f"project {t.ids['project_id']}"
    assert world.cl.balance(t.org) == before
    (listed,) = world.get(f"{base}/budgets", t.read_key).json()
    assert (listed["consumed_micros"], listed["percent"]) == (9_000_000, 90)
    _problem(world.post(f"{base}/budgets/{budget['id']}/delete", key=t.read_key), 403,
             "permission-denied")  # fmt: skip
    gone = world.post(f"{base}/budgets/{budget['id']}/delete", key=t.key)
    assert gone.status_code == 200 and gone.json()["id"] == budget["id"]
    _problem(world.post(f"{base}/budgets/{budget['id']}/delete", key=t.key), 404,
             "budget-not-found")  # fmt: skip
    assert world.get(f"{base}/budgets", t.key).json() == []


def test_a_bad_budget_answers_422_listing_every_problem(world: World) -> None:
    t = world.tenant("Acme")
    base = f"/v1/orgs/{t.org}/budgets"
    body = _problem(world.post(base, {"scope": "member", "scope_id": t.ids["member_id"],
                                      "amount": "5", "alerts": [50, 50]}, t.key),
                    422, "invalid-budget")  # fmt: skip
    assert body["errors"] == [{"field": "alerts", "message": "a threshold is listed twice"}]
    _problem(world.post(base, {"scope": "project", "scope_id": "prj_nope", "amount": "5"},
                        t.key), 404, "project-not-found")  # fmt: skip
    bad = world.post(base, {"scope": "team", "scope_id": "x", "amount": "5"}, t.key)
    assert bad.status_code == 422, bad.text


def test_whole_percents_written_as_decimals_are_percents(world: World) -> None:
    """JSON Schema counts ``80.0`` as an integer: it is the percent 80; ``80.5`` is not one."""
    t = world.tenant("Acme")
    base = f"/v1/orgs/{t.org}/budgets"
    body = {"scope": "member", "scope_id": t.ids["member_id"], "amount": "5"}
    made = world.post(base, {**body, "alerts": [80.0, 100]}, t.key)
    assert made.status_code == 201, made.text
    assert made.json()["alerts"] == [80, 100]
    _problem(world.post(base, {**body, "alerts": [80.5]}, t.key), 422, "invalid-request")
