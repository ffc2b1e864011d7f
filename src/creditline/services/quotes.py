"""Binding quotes (C3): issuing one, reading them back (:mod:`creditline.domain.quotes`
has the rules).

:func:`issue_quote` prices the usage as :func:`~creditline.services.ratecards.quote`
does (the organization's card, the version in force now) and stores the quote with its
breakdown and validity, in one transaction. Using it is a charging command's business
(a usage event's or a commit's ``quote_id``: :mod:`creditline.services.charging`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from creditline.domain.pricing import Quantity, Step, price
from creditline.domain.quotes import DEFAULT_VALIDITY, BindingQuote, issue
from creditline.domain.time import Clock
from creditline.domain.usage import UsageStep
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.ratecards import card_in_force, card_name_of

__all__ = ["IssueQuote", "issue_quote", "list_quotes"]


@dataclass(frozen=True, slots=True)
class IssueQuote:
    """Quote one use of ``operation`` to ``org_id``, binding for ``valid_for``."""

    org_id: str
    operation: str
    quantities: Mapping[str, Quantity] | None = None
    dimensions: Mapping[str, str] | None = None
    steps: Sequence[Step] = ()
    valid_for: timedelta = DEFAULT_VALIDITY


def issue_quote(cmd: IssueQuote, uow: UnitOfWork, clock: Clock) -> BindingQuote:
    """Price and store a binding quote.

    Raises:
        InvalidSetting: the validity is out of bounds.
        OrganizationNotFound, RateCardNotFound, NoRateCardInForce: nothing to price by.
        UnknownOperation, InvalidUsage: the card cannot price this usage.
    """
    steps = tuple(cmd.steps)
    with uow:
        now = clock.now()
        card = card_in_force(uow, card_name_of(uow, cmd.org_id), now)
        quoted = price(card, cmd.operation, cmd.quantities, cmd.dimensions, steps=steps, at=now)
        quote = issue(
            new_id("qt"), cmd.org_id, quoted, now, cmd.valid_for,
            quantities=cmd.quantities, dimensions=cmd.dimensions,
            steps=[UsageStep(s.operation, dict(s.quantities), dict(s.dimensions)) for s in steps],
        )  # fmt: skip
        uow.quotes.add(quote)
        uow.commit()
    return quote


def list_quotes(org_id: str, uow: UnitOfWork, limit: int = 100) -> list[BindingQuote]:
    """The organization's quotes, newest first (an unknown organization has none)."""
    with uow:
        return uow.quotes.recent(org_id, limit)
