"""Spending credits (B2): debits drawn from grants in order, refused whole when short.

One call spends a batch of debits for one organization in one transaction (or, through
the group commit writer, in a transaction shared with other callers). The
organization is locked first, then each debit's idempotency key is checked, then the
debit is drawn from the spendable grants in the consumption order; what they cannot
cover follows the organization's depletion policy, as usage does (flex or unlimited
credits for a ``consume`` debit; an operator's ``adjustment`` never takes flex). See
:mod:`creditline.domain.charging`. Each debit is accepted (entries written), refused
(not enough credits: nothing written for it) or rejected (bad input: nothing written
for it); one debit's refusal does not sink the others. A key is stored with its
outcome, a refusal included, so a retry gets the first answer and never a different one.
"""

from __future__ import annotations

from creditline.domain.charging import MAX_KEY, Debit, DebitResult, DebitStatus
from creditline.domain.time import Clock
from creditline.services.charging import SpendCredits, apply_group
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["MAX_KEY", "Debit", "DebitResult", "DebitStatus", "SpendCredits", "spend_credits"]


def spend_credits(cmd: SpendCredits, uow: UnitOfWork, clock: Clock) -> list[DebitResult]:
    """Spend a batch of debits for one organization; one result per debit, in order."""
    (answer,) = apply_group([cmd], uow, clock)
    results: list[DebitResult] = answer.unwrap()
    return results
