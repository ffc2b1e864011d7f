"""An operator's correction of a balance: a positive amount grants an ``adjustment``
lot, a negative one takes credits with ``adjustment`` entries (never flex); the reason
is the cause of either."""

from __future__ import annotations

from creditline.domain.charging import Debit
from creditline.domain.errors import InvalidAmount
from creditline.domain.grants import GrantKind, GrantSource, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.services.charging import SpendCredits
from creditline.services.grants import GrantCredits

__all__ = ["adjustment"]


def adjustment(
    org_id: str, amount: int, reason: str, idempotency_key: str | None = None
) -> GrantCredits | SpendCredits:
    """The command that corrects the organization's balance by ``amount`` micro-credits:
    a grant when it is positive, a debit when it is negative.

    Raises:
        InvalidAmount: not a non-zero integer. InvalidSetting: a blank or long reason.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidAmount(amount, "an adjustment is a non-zero integer of micro-credits")
    cause = Cause(CauseType.OPERATOR, reason)
    if amount > 0:
        return GrantCredits(
            org_id,
            amount,
            GrantKind.ADJUSTMENT,
            source=GrantSource(SourceType.OPERATOR, reason),
            idempotency_key=idempotency_key,
        )
    return SpendCredits(
        org_id,
        [Debit(-amount, cause, idempotency_key=idempotency_key)],
        EntryType.ADJUSTMENT,
    )
