"""Binding quotes (C3): a price promised for one use, for a while."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from creditline.domain.errors import QuoteNotFound
from creditline.domain.pricing import Quantity, Step
from creditline.domain.quotes import DEFAULT_VALIDITY, BindingQuote
from creditline.facade.core import Core
from creditline.services import quotes

__all__ = ["Quotes"]


class Quotes(Core):
    """Binding quotes: issued here, used by :meth:`record` or :meth:`commit` with
    ``quote_id``."""

    def issue_quote(
        self,
        org_id: str,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        valid_for: timedelta = DEFAULT_VALIDITY,
    ) -> BindingQuote:
        """Quote one use of ``operation`` by the organization's card in force now, and
        bind that price for ``valid_for`` (1 second to 1 day; default 15 minutes)::

            q = cl.issue_quote(org.id, "chat", {"tokens": 1000})
            cl.record(org.id, "evt_1", "chat", {"tokens": 1000}, quote_id=q.id)

        Usage recorded (or a hold committed) with ``quote_id`` before ``q.expires_at``
        is charged ``q.total`` micro-credits even if a new rate card version took effect
        in between, once (:mod:`creditline.domain.quotes`).

        Raises:
            InvalidSetting: ``valid_for`` out of bounds. UnknownOperation, InvalidUsage:
                the card cannot price this usage. OrganizationNotFound, RateCardNotFound,
                NoRateCardInForce: nothing to price by.
        """
        cmd = quotes.IssueQuote(org_id, operation, quantities, dimensions, tuple(steps), valid_for)
        return self._run(lambda: quotes.issue_quote(cmd, self._uow(), self.clock))

    def binding_quote(self, org_id: str, quote_id: str) -> BindingQuote:
        """One of the organization's quotes (its state: ``q.state(cl.clock.now())``).

        Raises:
            QuoteNotFound: no such quote in the organization.
        """
        return self._find(lambda uow: uow.quotes.get(org_id, quote_id), QuoteNotFound(quote_id))

    def binding_quotes(self, org_id: str, limit: int = 100) -> list[BindingQuote]:
        """The organization's quotes, newest first."""
        return self._run(lambda: quotes.list_quotes(org_id, self._uow(read_only=True), limit))
