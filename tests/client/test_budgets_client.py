"""Budgets through the client: the service answers as the embedded engine, errors
included (a hard budget's refusal of a spend, a hold and a usage event; bad budgets;
an unknown one)."""

from __future__ import annotations

from typing import Any

from creditline import Cause, CauseType, Creditline, credits
from creditline.client import Client
from creditline.domain.errors import BudgetExceeded
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER

pytestmark = SERVER


def script(cl: Any) -> list[Any]:
    org = cl.create_org("Budgeted")
    cl.grant(org.id, credits(100))
    bot = cl.create_project(org.id, "bot")
    ada = cl.add_member(org.id, "Ada")
    daily = cl.create_budget(org.id, project_id=bot.id, amount=credits(5), period="day",
                             alerts=[80])  # fmt: skip
    soft = cl.create_budget(org.id, member_id=ada.id, amount=credits(2), mode="soft")
    return [
        daily,
        soft,
        outcome(
            lambda: cl.spend(
                org.id,
                credits(3),
                project_id=bot.id,
                member_id=ada.id,
                cause=Cause(CauseType.DEBIT, "d-1"),
            )
        ),
        outcome(lambda: cl.reserve(org.id, credits(1), project_id=bot.id)),
        outcome(
            lambda: cl.spend(
                org.id, credits(2), project_id=bot.id, cause=Cause(CauseType.DEBIT, "d-2")
            )
        ),
        outcome(lambda: cl.record(org.id, "e-1", "ping", project_id=bot.id)),
        outcome(lambda: cl.budgets(org.id)),
        outcome(
            lambda: cl.create_budget(org.id, project_id=bot.id, amount=credits(1), alerts=[80, 80])
        ),
        outcome(lambda: cl.create_budget(org.id, member_id="mbr_nope", amount=credits(1))),
        outcome(lambda: cl.delete_budget(org.id, soft.budget.id)),
        outcome(lambda: cl.delete_budget(org.id, soft.budget.id)),
        outcome(lambda: cl.budgets(org.id)),
    ]


def test_budgets_answer_as_the_library_does(embedded: Creditline, client: Client) -> None:
    here, there = script(embedded), script(client)
    assert Canon()(there) == Canon()(here)
    refused = here[4]
    assert isinstance(refused, BudgetExceeded) and refused.room == credits(1)
    errors = {type(r).__name__ for r in here if isinstance(r, Exception)}
    assert errors == {"BudgetExceeded", "InvalidBudget", "MemberNotFound", "BudgetNotFound"}
