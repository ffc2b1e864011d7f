"""The CLI's own errors, and the one table from error class to exit code.

They join the engine's tree (:mod:`creditline.domain.errors`), so the root command turns
every one of them into one line and an exit code::

    CreditlineError
    ├── VerificationFailed     ``verify`` found problems (exit 8)
    ├── UsageRefused           usage the engine refused: a replayed refusal, an import's (exit 5)
    └── ValidationError
        ├── UsageRejected      bad lines or rejected events in an import (exit 2)
        └── RateCardRejected   ``ratecard validate`` found problems (exit 2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from creditline import format_credits
from creditline.domain.errors import (
    BudgetExceeded,
    ConfigurationError,
    Conflict,
    CreditlineError,
    InsufficientCredits,
    KeyCapExceeded,
    NotFound,
    OperationNotAllowed,
    PaymentError,
    PlanGateRefused,
    RefundRefused,
    SelfServeUnavailable,
    StorageError,
    ValidationError,
)

__all__ = [
    "EXIT_CODES",
    "RateCardRejected",
    "UsageRefused",
    "UsageRejected",
    "VerificationFailed",
    "describe",
    "exit_code",
]


class VerificationFailed(CreditlineError):
    """``creditline verify`` found problems (they are printed before this is raised)."""

    def __init__(self, problems: int) -> None:
        self.problems = problems
        super().__init__(f"verification found {problems} problems")


class UsageRefused(CreditlineError):
    """Usage the engine refused (a replayed refusal, or refusals in an import): exit 5."""


class UsageRejected(ValidationError):
    """Bad lines or rejected events in an import (reported before this is raised)."""


class RateCardRejected(ValidationError):
    """``ratecard validate`` found problems (they are printed before this is raised)."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(
            f"{source} is not a valid rate card: {count} problem{'' if count == 1 else 's'}"
        )


EXIT_CODES: dict[type[Exception], int] = {
    CreditlineError: 1,
    ValidationError: 2,
    NotFound: 3,
    Conflict: 4,
    InsufficientCredits: 5,
    KeyCapExceeded: 5,
    OperationNotAllowed: 5,
    BudgetExceeded: 5,
    PlanGateRefused: 5,
    UsageRefused: 5,
    ConfigurationError: 6,
    StorageError: 7,
    VerificationFailed: 8,
    PaymentError: 9,
    RefundRefused: 5,
    SelfServeUnavailable: 10,
}
"""The one table from error class to exit code; a class not listed takes its nearest
listed base class's code. Click's own usage errors also exit 2. Refused usage (no
credits to cover it, the plan's gates, a hard budget) exits 5, like a refused spend,
and so does a refused refund and a charge past an API key's cap or outside its
operations; a purchase the payment provider cannot make (or no provider) exits 9; a
purchase refused because self-serve buying is not available in the organization's
country exits 10 (contact sales: ``creditline sales request``)."""


def _insufficient(exc: InsufficientCredits) -> str:
    return (
        f"insufficient credits in {exc.org_id}: needed {format_credits(exc.needed)} credits, "
        f"{format_credits(exc.available)} available{exc.grace_note}"
    )


def _budget(exc: BudgetExceeded) -> str:
    return (
        f"budget {exc.budget_id} of {exc.scope} exceeded: needed {format_credits(exc.needed)} "
        f"credits, {format_credits(exc.used)} of {format_credits(exc.amount)} used this "
        f"period, {format_credits(exc.room)} left"
    )


def _key_cap(exc: KeyCapExceeded) -> str:
    return (
        f"API key {exc.key_id} is capped at {format_credits(exc.cap)} credits a {exc.window}: "
        f"{format_credits(exc.used)} used, {format_credits(exc.room)} left, the charge needs "
        f"{format_credits(exc.needed)}"
    )


def _self_serve(exc: SelfServeUnavailable) -> str:
    return f"{exc}: creditline sales request {exc.org_id} [--pack NAME | --amount CREDITS]"


_MESSAGES: dict[type[Exception], Callable[[Any], str]] = {
    InsufficientCredits: _insufficient,
    KeyCapExceeded: _key_cap,
    BudgetExceeded: _budget,
    SelfServeUnavailable: _self_serve,
}
"""Messages that read better in credits than the engine's micro-credits."""


def _nearest(table: dict[type[Exception], Any], exc: Exception) -> Any:
    return next((table[c] for c in type(exc).__mro__ if c in table), None)


def exit_code(exc: Exception) -> int:
    code: int = _nearest(EXIT_CODES, exc)
    return code


def describe(exc: Exception) -> str:
    """The one line printed for ``exc``."""
    message = _nearest(_MESSAGES, exc) or str
    return " ".join(str(message(exc)).split())
