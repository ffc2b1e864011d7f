"""Rate cards and quotes (C2, C3): loading versions, assigning cards, pricing operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from creditline.domain.pricing import Quantity, Quote, RateCard, RateCardHistory, Step
from creditline.domain.whatif import WhatIf
from creditline.facade.core import Core
from creditline.services import ratecards, whatif

__all__ = ["RateCards"]


class RateCards(Core):
    """Rate cards and quotes."""

    def load_rate_card(
        self,
        source: str | bytes | Mapping[str, Any] | RateCard,
        syntax: Literal["toml", "json"] = "toml",
    ) -> RateCard:
        """Load one rate card version (C2, C3) and return it as stored.

        ``source`` is a TOML or JSON document (text or bytes; ``syntax`` says which), the
        document as a mapping, or a :class:`RateCard` built in code. Loading the same
        version again is a no-op when it is identical; a version that is not the card's
        first takes effect now or later, so past usage keeps its price.

        Raises:
            InvalidRateCard: listing every problem (including a start before now).
            RateCardVersionConflict: the version is loaded already with other prices.
        """
        cmd = ratecards.LoadRateCard(source, syntax)
        return self._run(lambda: ratecards.load_rate_card(cmd, self._uow(), self.clock))

    def rate_cards(self) -> list[RateCardHistory]:
        """Every loaded card with its versions (``history.name``, ``history.versions``)."""
        return self._run(lambda: ratecards.rate_card_histories(self._uow(read_only=True)))

    def rate_card_history(self, name: str = ratecards.DEFAULT_RATE_CARD) -> RateCardHistory:
        """Every version of card ``name``, in order of effective time."""
        return self._run(lambda: ratecards.rate_card_history(name, self._uow(read_only=True)))

    def rate_card(
        self, name: str = ratecards.DEFAULT_RATE_CARD, at: datetime | None = None
    ) -> RateCard:
        """The version of card ``name`` in force at ``at`` (default: now).

        Raises:
            RateCardNotFound: no version is loaded; NoRateCardInForce: ``at`` is too early.
        """
        return self._run(
            lambda: ratecards.rate_card_at(name, at, self._uow(read_only=True), self.clock)
        )

    def set_rate_card(self, org_id: str, name: str | None) -> str:
        """Price the organization's usage by card ``name`` from now on (``None``: the
        default card); returns the card's name. The card must be loaded."""
        cmd = ratecards.AssignRateCard(org_id, name)
        return self._run(lambda: ratecards.assign_rate_card(cmd, self._uow(), self.clock))

    def org_rate_card(self, org_id: str) -> str:
        """The name of the card the organization's usage is priced by."""
        return self._run(
            lambda: ratecards.organization_rate_card(org_id, self._uow(read_only=True))
        )

    def quote(
        self,
        org_id: str | None,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        at: datetime | None = None,
        rate_card: str | None = None,
    ) -> Quote:
        """What ``operation`` costs, with its breakdown, without spending anything.

        Priced by the organization's card (``org_id``), or the card named ``rate_card``,
        or else the default card, in the version in force at ``at`` (default: now)::

            cl.quote(org.id, "train", {"attributes": 3}, {"mode": "Business",
                     "delivery": "Standard"}).total        # 2_000_000 micro-credits

        Raises:
            UnknownOperation, InvalidUsage: the card cannot price this usage.
            OrganizationNotFound, RateCardNotFound, NoRateCardInForce: nothing to price by.
        """
        cmd = ratecards.QuoteOperation(
            operation, quantities, dimensions, tuple(steps), org_id, rate_card, at
        )
        return self._run(lambda: ratecards.quote(cmd, self._uow(read_only=True), self.clock))

    def what_if(
        self,
        draft: str | bytes | Mapping[str, Any] | RateCard,
        *,
        since: datetime,
        until: datetime | None = None,
        org_id: str | None = None,
        syntax: Literal["toml", "json"] = "toml",
    ) -> WhatIf:
        """What a draft version of a rate card would have charged for past usage.

        Re-prices the accepted usage that happened in ``[since, until)`` (``until``:
        now) by ``draft`` (a document as :meth:`load_rate_card` takes, or a card; it is
        validated, never loaded, and nothing is written), for the organization
        ``org_id``, or else for every organization priced by the draft's card. Per
        organization and operation: what the events were charged and what the draft
        would have charged; and the organizations that would have run out of credits
        earlier, and when (:mod:`creditline.domain.whatif`)::

            report = cl.what_if(open("draft.toml").read(), since=month_start)
            report.difference                # micro-credits the draft earns more

        Raises:
            InvalidRateCard: the draft breaks a rule. InvalidSetting: the period is
                empty or longer than 3,700 days. OrganizationNotFound.
        """
        cmd = whatif.PriceDraft(draft, since, until, org_id, syntax)
        return self._run(lambda: whatif.what_if(cmd, self._uow(read_only=True), self.clock))
