"""Charges refused: by the plan's gates, for want of credits, or by an API key's cap."""

from __future__ import annotations

from creditline.domain.errors.base import CreditlineError

__all__ = ["InsufficientCredits", "KeyCapExceeded", "PlanGateRefused"]


class PlanGateRefused(CreditlineError):
    """The organization's plan does not allow this usage; nothing was charged.

    Attributes:
        plan: the plan's name.
        rule: the rule that refused it (``dimensions.mode``).
        reason: why, in words.
    """

    def __init__(self, plan: str, rule: str, reason: str) -> None:
        self.plan = plan
        self.rule = rule
        self.reason = reason
        super().__init__(f"refused by plan {plan!r}, rule {rule}: {reason}")


class InsufficientCredits(CreditlineError):
    """A debit needs more than the organization can spend; nothing was written.

    Attributes:
        org_id: the organization.
        needed: micro-credits the debit needed.
        available: micro-credits that were spendable at that moment (with the flex
            room left, on a flex plan).
        flex_limit, flex_used: on a flex plan at its limit, the plan's monthly flex
            limit and the flex used this month (``flex_room`` is what is left); else
            ``None``.
        overdue_invoice: the invoice (``INV-000042``) the organization is suspended for
            after its last payment retry failed: nothing is spendable until it is paid.
        grace_state: the grace state that refuses it (``read_only``, ``paused``;
            :mod:`creditline.domain.grace`), or ``grace`` when the grace left cannot
            cover it; else ``None``.
        grace_since: when the organization entered that state (ISO 8601), or ``None``.
    """

    def __init__(
        self,
        org_id: str,
        needed: int,
        available: int,
        *,
        flex_limit: int | None = None,
        flex_used: int | None = None,
        overdue_invoice: str | None = None,
        grace_state: str | None = None,
        grace_since: str | None = None,
    ) -> None:
        self.org_id = org_id
        self.needed = needed
        self.available = available
        self.flex_limit = flex_limit
        self.flex_used = flex_used
        self.overdue_invoice = overdue_invoice
        self.grace_state = grace_state
        self.grace_since = grace_since
        message = (
            f"insufficient credits in {org_id}: needed {needed} micro-credits, "
            f"{available} available"
        )
        if overdue_invoice is not None:
            message += f"; suspended until invoice {overdue_invoice} is paid"
        message += self.grace_note
        if flex_limit is not None:
            message += (
                f"; flex limit {flex_limit} micro-credits a month: {flex_used or 0} used "
                f"this month, {self.flex_room} left"
            )
        super().__init__(message)

    @property
    def grace_note(self) -> str:
        """``; the organization is read-only since ...: buy credits to end it`` (empty
        when no grace state refused it)."""
        if self.grace_state is None:
            return ""
        since = f" since {self.grace_since}" if self.grace_since else ""
        state = self.grace_state.replace("_", "-")
        return f"; the organization is {state}{since}: buy credits to end it"

    @property
    def flex_room(self) -> int | None:
        """Flex micro-credits left this month under the limit (``None``: no flex limit)."""
        if self.flex_limit is None:
            return None
        return max(0, self.flex_limit - (self.flex_used or 0))


class KeyCapExceeded(CreditlineError):
    """A charge would take an API key past its spend cap for the window; nothing was
    charged (the organization's credits are not the limit: the key's cap is).

    Attributes:
        key_id: the capped key.
        cap: micro-credits the key may spend in a window.
        used: micro-credits it has spent (or holds) in the current window.
        needed: micro-credits the charge needed.
        window: ``day`` or ``month`` (UTC).
    """

    def __init__(self, key_id: str, cap: int, used: int, needed: int, window: str) -> None:
        self.key_id = key_id
        self.cap = cap
        self.used = used
        self.needed = needed
        self.window = window
        super().__init__(
            f"API key {key_id} is capped at {cap} micro-credits a {window}: {used} used, "
            f"{self.room} left, the charge needs {needed}"
        )

    @property
    def room(self) -> int:
        """Micro-credits the key may still spend in this window."""
        return max(0, self.cap - self.used)
