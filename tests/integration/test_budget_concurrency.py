"""A hard budget under racing processes: a project never passes it.

4 processes charge one project of an organization one credit at a time (a seeded mix
of debits, usage events and holds committed whole), 60 charges each, on SQLite and on
PostgreSQL. The organization holds 1,000 credits and the project a hard budget of 100
credits a month: exactly 100 charges are accepted, the rest refused by the budget, and
the budget's count, the ledger and the balance agree. The same harness and checker run
a deliberately broken budget check, made outside the organization's lock, and must
catch the project passing its budget (RELIABILITY.md rule 8), which shows the race is
exercised.
"""

from __future__ import annotations

import pytest

from creditline import Creditline, credits
from tests.budgets import BudgetJob, check_budget_promises
from tests.concurrency import run
from tests.metering import card_doc

PROCESSES = 4
ROUNDS = 60
BUDGET = 100
GRANTED = credits(1_000)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


def _team(db_url: str) -> tuple[str, str]:
    with Creditline.open(db_url) as cl:  # the workers use the system clock: so does this
        cl.load_rate_card(card_doc())
        org = cl.create_org("Team").id
        cl.grant(org, GRANTED)
        project = cl.create_project(org, "batch").id
        cl.create_budget(org, project_id=project, amount=credits(BUDGET), alerts=[50, 100])
        return org, project


def test_racing_processes_never_pass_a_hard_budget(db_url: str) -> None:
    org, project = _team(db_url)

    result = run(db_url, BudgetJob(org, project, ROUNDS), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        check_budget_promises(result, cl, org, project, budget=BUDGET, granted=GRANTED)
    assert all(result.total(kind) for kind in ("spend", "event", "hold")), result.describe()


def test_the_harness_catches_a_budget_checked_outside_the_lock(db_url: str) -> None:
    org, project = _team(db_url)

    result = run(db_url, BudgetJob(org, project, ROUNDS, broken=True), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        with pytest.raises(AssertionError, match="the budget was passed"):
            check_budget_promises(result, cl, org, project, budget=BUDGET, granted=GRANTED)
        assert result.accepted > BUDGET
