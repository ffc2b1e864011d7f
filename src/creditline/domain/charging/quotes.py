"""Binding quotes in a group's decision: the quote a command names, if it may be used
(known, the organization's, unexpired and unused, also by the group so far), and its
use recorded once (:mod:`creditline.domain.quotes` has the rules)."""

from __future__ import annotations

from creditline.domain.charging.ledger import Ledger
from creditline.domain.charging.outcome import Decision
from creditline.domain.errors import QuoteNotFound, QuoteUsed
from creditline.domain.ledger import Cause
from creditline.domain.quotes import BindingQuote

__all__ = ["usable_quote", "use_quote"]


def usable_quote(book: Ledger, quote_id: str, out: Decision) -> BindingQuote:
    """The quote, if the organization may use it now.

    Raises:
        QuoteNotFound: no such quote, or another organization's.
        QuoteUsed: used before, or by an earlier command of this group.
        QuoteExpired: its validity ended before the group's time.
    """
    quote = book.books.quotes.get(quote_id)
    if quote is None or quote.org_id != book.org_id:
        raise QuoteNotFound(quote_id)
    earlier = out.quotes_used.get(quote_id)
    if earlier is not None:
        raise QuoteUsed(quote_id, earlier[1])
    quote.check(book.now)
    return quote


def use_quote(book: Ledger, quote: BindingQuote, cause: Cause, out: Decision) -> None:
    """Record that ``cause`` used the quote (written with the group)."""
    out.quotes_used[quote.id] = (book.org_id, str(cause))
