"""Budgets inside an organization's pool: a budget's bad definition, an unknown budget,
and a charge a hard budget refuses."""

from __future__ import annotations

from creditline.domain.errors.base import CreditlineError, NotFound, ValidationError

__all__ = ["BudgetExceeded", "BudgetNotFound", "InvalidBudget"]


class InvalidBudget(ValidationError):
    """A budget breaks one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid budget: " + "; ".join(problems))


class BudgetNotFound(NotFound):
    kind = "budget"


class BudgetExceeded(CreditlineError):
    """A hard budget of a project or member would be exceeded; nothing was charged.

    Attributes:
        budget_id: the budget that refused it (``bgt_...``).
        scope: what the budget caps: ``project prj_...`` or ``member mbr_...``.
        amount: the budget, in micro-credits per period.
        used: micro-credits counted against it in the running period (open holds
            included).
        needed: micro-credits the charge needed.
    """

    def __init__(self, budget_id: str, scope: str, amount: int, used: int, needed: int) -> None:
        self.budget_id = budget_id
        self.scope = scope
        self.amount = amount
        self.used = used
        self.needed = needed
        super().__init__(
            f"budget {budget_id} of {scope} exceeded: needed {needed} "
            f"micro-credits, {used} of {amount} used this period, {self.room} left"
        )

    @property
    def room(self) -> int:
        """Micro-credits the budget still allows this period."""
        return max(0, self.amount - self.used)
