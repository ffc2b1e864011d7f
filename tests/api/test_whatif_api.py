"""``POST /v1/rate-cards/what-if`` on both databases: a draft re-prices past usage for the
operator, exactly; bad drafts and periods are 422 with every problem; nothing is loaded."""

from __future__ import annotations

from datetime import timedelta

from creditline import credits
from tests.api.conftest import World
from tests.conftest import T0
from tests.metering import card_doc

DRAFT = card_doc(version="v2", effective_from=T0 + timedelta(days=90), ping="3")
SINCE = (T0 - timedelta(days=1)).isoformat()
DRAFT_TOML = f"""
name = "default"
version = "v2"
effective_from = {(T0 + timedelta(days=90)).isoformat()}
[operations.ping]
flat = "3"
"""


def _usage(world: World) -> str:
    """An organization with 10 pings (1 credit each on the loaded card) over 10 hours."""
    org = world.cl.create_org("Pinger").id
    world.cl.grant(org, credits(25))
    for n in range(10):
        world.clock.advance(timedelta(hours=1))
        world.cl.record(org, f"p{n}", "ping")
    world.clock.advance(timedelta(hours=1))
    return org


def test_the_operator_sees_what_the_draft_would_have_charged(world: World) -> None:
    org = _usage(world)
    answer = world.post("/v1/rate-cards/what-if", {"document": DRAFT, "since": SINCE})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["card"], body["version"], body["events"]) == ("default", "v2", 10)
    assert (body["charged"], body["repriced"], body["difference"]) == ("10", "30", "20")
    assert body["difference_micros"] == credits(20)
    (row,) = body["operations"]
    assert (row["org_id"], row["operation"], row["repriced_micros"]) == (org, "ping", credits(30))
    # 25 credits at 3 a ping: the 9th ping would have been 2 short
    (out,) = body["run_outs"]
    assert out["org_id"] == org and out["short"] == "2" and out["ran_out_at"] is None
    assert out["at"] == (T0 + timedelta(hours=9)).isoformat().replace("+00:00", "Z")
    assert [v["version"] for v in world.get("/v1/rate-cards/default").json()["versions"]] == ["v1"]


def test_a_toml_draft_for_one_organization(world: World) -> None:
    org = _usage(world)
    body = {"toml": DRAFT_TOML, "since": SINCE, "org_id": org,
            "until": (T0 + timedelta(hours=5, minutes=30)).isoformat()}  # fmt: skip
    answer = world.post("/v1/rate-cards/what-if", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == 5


def test_an_organization_key_may_not(world: World) -> None:
    tenant = world.tenant("Acme")
    answer = world.post("/v1/rate-cards/what-if", {"document": DRAFT, "since": SINCE}, tenant.key)
    assert answer.status_code == 403


def test_bad_requests_are_422_with_the_problem(world: World) -> None:
    _usage(world)
    bad_card = {**DRAFT, "operations": {"ping": {"flat": "-1"}}}
    cases = [
        ({"document": bad_card, "since": SINCE}, "must not be negative"),
        ({"document": DRAFT, "since": SINCE, "until": SINCE}, "must end after it starts"),
        ({"document": DRAFT, "toml": "x", "since": SINCE}, "exactly one"),
        ({"document": DRAFT}, "since"),
        ({"document": DRAFT, "since": SINCE, "extra": 1}, "extra"),
        ({"document": DRAFT, "since": 1767225600}, "ISO 8601"),
    ]
    for body, needle in cases:
        answer = world.post("/v1/rate-cards/what-if", body)
        assert answer.status_code == 422, (body, answer.text)
        assert needle in answer.text, (needle, answer.text)
    missing = world.post(
        "/v1/rate-cards/what-if", {"document": DRAFT, "since": SINCE, "org_id": "org_nobody"}
    )
    assert missing.status_code == 404
