"""Racing a hard budget: workers of :mod:`tests.concurrency` charging one project of an
organization at once (tests/integration/test_budget_concurrency.py).

:class:`BudgetJob` is a worker's job: ``rounds`` one-credit charges attributed to the
project, each a seeded choice of a debit, a usage event (``ping``, one credit) or a
one-credit hold committed whole. The organization holds far more credits than the
project's hard budget, so only the budget refuses: however the processes interleave,
exactly ``budget`` one-credit charges are accepted and the rest refused
(:func:`check_budget_promises`).

With ``broken``, the engine's own budget check is switched off in the worker and
:func:`broken_budget_check` decides instead, DELIBERATELY WRONG (RELIABILITY.md rule 8):
it reads the budget's room in a read-only transaction, outside the organization's lock,
sleeps, then charges. The checker must catch the project passing its budget.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from creditline import Creditline, EntryType, InsufficientCredits
from creditline.domain.errors import BudgetExceeded
from creditline.domain.usage import EventStatus
from tests.concurrency import ONE, Report, RunResult, Worker

__all__ = ["BudgetJob", "broken_budget_check", "check_budget_promises"]

RACE_WINDOW = 0.05
"""Seconds :func:`broken_budget_check` sleeps between its check and its charge: long
beside a charge's own time even on a loaded machine (at 0.01 s, with the machine's two
cores busy with other tests, the broken variant's workers once fell into step and kept
to the budget by chance, leaving the harness nothing to catch)."""


def broken_budget_check(cl: Creditline, org_id: str, project_id: str) -> bool:
    """DELIBERATELY WRONG: the budget decided outside the lock. Never copy this.

    It reads the project's budgets (their room this period) in a read-only transaction,
    sleeps :data:`RACE_WINDOW` as a slow network would, and lets the charge go if every
    budget had room: every process that read before the others charged passes.
    """
    room = min((s.room for s in cl.budgets(org_id) if s.budget.scope_id == project_id),
               default=ONE)  # fmt: skip
    time.sleep(RACE_WINDOW)
    return room >= ONE


def _no_check(*_: object) -> None:
    """The engine's budget check, switched off in the broken variant's processes."""
    return None


@dataclass(frozen=True)
class BudgetJob:
    """``rounds`` one-credit charges of ``project_id`` per worker (see the module
    docstring); ``seed`` shapes each worker's mix of debits, events and holds."""

    org_id: str
    project_id: str
    rounds: int
    seed: int = 1
    broken: bool = False

    def __call__(self, worker: Worker, report: Report) -> None:
        if self.broken:
            from creditline.domain.charging.budgets import BudgetBook

            BudgetBook.check = _no_check  # type: ignore[assignment,method-assign]
        pick = random.Random(self.seed * 1000 + worker.index)
        for n in range(self.rounds):
            kind = pick.choice(("spend", "event", "hold"))
            report.attempt(kind, ONE, self._charge, worker, kind, f"w{worker.index}-{n}")

    def _charge(self, worker: Worker, kind: str, ident: str) -> bool:
        cl, org, project = worker.cl, self.org_id, self.project_id
        if self.broken and not broken_budget_check(cl, org, project):
            return False
        if kind == "event":
            result = cl.record(org, ident, "ping", project_id=project)
            return result.status is EventStatus.ACCEPTED
        try:
            if kind == "spend":
                cl.spend(org, ONE, project_id=project, idempotency_key=ident)
            else:
                hold = cl.reserve(org, ONE, project_id=project)
                cl.commit(org, hold.id, ONE)
        except (BudgetExceeded, InsufficientCredits):
            return False
        return True


def check_budget_promises(
    result: RunResult, cl: Creditline, org_id: str, project_id: str, *, budget: int, granted: int
) -> None:
    """Assert the outcome of a :class:`BudgetJob` race: exactly ``budget`` one-credit
    charges accepted (the budget reached, never passed); the budget's count, the
    project's consume entries and the balance agree; nothing held; the ledger verifies."""
    problems: list[str] = []
    if result.errors:
        problems.append(f"{result.errors} errors: {result.describe()}")
    if result.accepted != budget:
        problems.append(f"{result.accepted} one-credit charges accepted, expected {budget}")
    standing = next(s for s in cl.budgets(org_id) if s.budget.scope_id == project_id)
    if standing.consumed != result.accepted * ONE or standing.held:
        problems.append(f"the budget counted {standing.consumed} consumed, {standing.held} "
                        f"held, for {result.accepted} accepted")  # fmt: skip
    if standing.consumed > standing.budget.amount:
        problems.append(f"the budget was passed: {standing.consumed} > {standing.budget.amount}")
    taken = -sum(e.amount for e in cl.history(org_id, 10_000, types=[EntryType.CONSUME])
                 if e.project_id == project_id)  # fmt: skip
    if taken != result.accepted * ONE:
        problems.append(f"the project consumed {taken} in the ledger")
    balance = cl.balance(org_id)
    if balance.total != granted - taken or balance.held:
        problems.append(f"balance {balance.total} (held {balance.held}), expected "
                        f"{granted - taken}")  # fmt: skip
    problems += [f"verify: {p}" for p in cl.verify().problems]
    if problems:
        raise AssertionError("budget promises broken:\n  - " + "\n  - ".join(problems))
