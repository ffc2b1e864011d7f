"""What happens when credits run out is stated as the one rule that applies: the plan's
depletion policy, with flex switched off pausing, and flex's limit and price when it is
on. The demo's plan has one policy (pause, no flex), and its portal plan page and its
console page say so and nothing else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from creditline import Creditline, credits
from creditline.domain.plans import DepletionPolicy, parse_plan
from creditline.domain.usage import Metering
from creditline.entrypoints.api import ApiSettings, create_app
from creditline.entrypoints.cli import app as cli_app
from creditline.entrypoints.web import views
from creditline.entrypoints.web.render import credits_text

DEMO_NOW = "2026-03-15T12:00:00+00:00"


def metering(plan: dict[str, Any], flex_enabled: bool | None = None) -> Metering:
    made = parse_plan({"name": "p", **plan})
    on = made.flex_enabled if flex_enabled is None else flex_enabled
    return Metering("org_x", (), "card", made, made.depletion, on, 0)


@pytest.mark.parametrize(
    ("plan", "flex_enabled", "rule"),
    [
        ({"depletion": "pause"}, None, "new operations are paused"),
        ({"depletion": "pause", "flex_enabled": False}, None, "new operations are paused"),
        (
            {"depletion": "read_only"},
            None,
            "the account becomes read-only: new operations are refused",
        ),
        ({"depletion": "unlimited"}, None, "usage continues: it is never refused"),
        (
            {"depletion": "flex", "flex_limit_micros": 500_000_000},
            None,
            "usage continues up to 500.00 credits a month, billed at the end of the month",
        ),
        (
            {"depletion": "flex", "flex_price": {"currency": "EUR", "minor_per_credit": 400}},
            None,
            "usage continues with no monthly limit, billed at the end of the month, "
            "at €4.00 a credit",
        ),
        (
            {"depletion": "flex", "flex_limit_micros": 500_000_000},
            False,
            "new operations are paused (flex billing is off for this organization)",
        ),
    ],
)
def test_the_rule_when_credits_run_out_is_one_sentence(
    plan: dict[str, Any], flex_enabled: bool | None, rule: str
) -> None:
    assert views.depletion_rule(metering(plan, flex_enabled)) == rule


def test_a_flex_limit_is_shown_in_credits_as_the_portal_shows_amounts() -> None:
    plan = metering({"depletion": "flex", "flex_limit_micros": credits(1500)})

    shown = views.depletion_rule(plan)

    assert shown == (
        f"usage continues up to {credits_text(credits(1500))} credits a month, "
        "billed at the end of the month"
    )


def _depletion(page: str) -> list[str]:
    return re.findall(r'data-testid="depletion">([^<]*)<', page)


def test_the_demo_plan_has_one_depletion_policy_and_its_pages_state_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    played = CliRunner().invoke(cli_app, ["--db", db, "--now", DEMO_NOW, "demo", "-f", "json"])
    assert played.exit_code == 0, played.output

    with Creditline.open(db, migrate=False) as cl:
        (org,) = cl.list_orgs()
        plan = cl.metering(org.id)
        assert (plan.depletion, plan.flex_enabled) == (DepletionPolicy.PAUSE, False)
        site = create_app(cl, settings=ApiSettings(rate_per_second=0, log_requests=False))
        portal = TestClient(site, follow_redirects=False)
        assert portal.get(cl.create_portal_session(org.id).url).status_code == 303
        plan_page = portal.get("/portal/plan").text
        console = TestClient(site, follow_redirects=False)
        key = cl.create_api_key("operator", name="test").secret
        assert console.post("/console/login", data={"api_key": key}).status_code == 303
        org_page = console.get(f"/console/orgs/{org.id}").text

    assert _depletion(plan_page) == ["new operations are paused"]
    assert "Flex billing" not in plan_page and "flex credits" not in plan_page
    assert _depletion(org_page) == ["new operations are paused"]
    assert "flex on" not in org_page and "flex off" not in org_page
