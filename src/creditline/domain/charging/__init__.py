"""Charging: one decision for every way credits are taken (C1, C6, B2, A3, A4, D6).

Usage events, holds (reserve), their settlements (commit, release) and debits (spend,
negative adjustments) are all decided by :func:`decide`, on what a service loaded under
the organizations' locks (:class:`Books`), never touching storage. Where each part lives:

- :mod:`~creditline.domain.charging.commands`: the commands and what each became.
- :mod:`~creditline.domain.charging.checks`: the checks made before any lock.
- :mod:`~creditline.domain.charging.books`: what a service loads for a decision.
- :mod:`~creditline.domain.charging.group`: the decision of a group, in arrival order,
  exactly once.
- :mod:`~creditline.domain.charging.ledger`: an organization's running state; who pays
  (the depletion policy, flex, scoped grants).
- :mod:`~creditline.domain.charging.grace`: grace between depletion and lock: charges
  paid by grace, refused while read-only or paused, and the transitions they make.
- :mod:`~creditline.domain.charging.usage`: usage events: priced, gated, paid.
- :mod:`~creditline.domain.charging.budgets`: the budgets of projects and members: checked
  before a charge, counted after it.
- :mod:`~creditline.domain.charging.holds`: holds, their settlements, extensions and
  increases.
- :mod:`~creditline.domain.charging.spends`: debits, and their stored outcomes.
- :mod:`~creditline.domain.charging.caps`: API keys' operations and spend caps.
- :mod:`~creditline.domain.charging.quotes`: binding quotes a usage event or a commit
  names: usable (once, unexpired), and used.
- :mod:`~creditline.domain.charging.outcome`: what a decision writes.
"""

from __future__ import annotations

from creditline.domain.charging.books import Account, Books, flex_ref
from creditline.domain.charging.caps import slot_of
from creditline.domain.charging.checks import (
    check_extend,
    check_increase,
    check_reserve,
    check_settle,
    check_target,
    prepare_debit,
    reserve_fingerprint,
)
from creditline.domain.charging.commands import (
    MAX_KEY,
    MAX_TTL,
    Command,
    Debit,
    DebitResult,
    DebitStatus,
    Extend,
    Increase,
    Reserve,
    Settle,
    Settlement,
    Spend,
    fingerprint,
)
from creditline.domain.charging.group import decide
from creditline.domain.charging.holds import longest_hold
from creditline.domain.charging.ledger import Ledger
from creditline.domain.charging.outcome import Decision
from creditline.domain.charging.usage import check_event_gates, price_event

__all__ = [
    "MAX_KEY",
    "MAX_TTL",
    "Account",
    "Books",
    "Debit",
    "DebitResult",
    "DebitStatus",
    "Decision",
    "Extend",
    "Increase",
    "Reserve",
    "Settle",
    "Settlement",
    "Ledger",
    "Spend",
    "Command",
    "check_event_gates",
    "check_extend",
    "check_increase",
    "check_reserve",
    "check_target",
    "check_settle",
    "decide",
    "fingerprint",
    "flex_ref",
    "longest_hold",
    "prepare_debit",
    "price_event",
    "reserve_fingerprint",
    "slot_of",
]
