"""Binding quotes (C3): a price promised for one use, for a while."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from creditline.client import decode
from creditline.client._wire import Flow, op, seg
from creditline.client.operations._requests import (
    compact,
    fetch,
    fetch_each,
    org_get,
    org_post,
    quantities_doc,
    query_params,
    steps_doc,
)
from creditline.domain.pricing import Quantity, Step
from creditline.domain.quotes import DEFAULT_VALIDITY, BindingQuote, check_validity


class QuoteOperations:
    """Binding quotes: issued here, used by ``record`` or ``commit`` with ``quote_id``."""

    @op
    def issue_quote(
        self,
        org_id: str,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        valid_for: timedelta = DEFAULT_VALIDITY,
    ) -> Flow[BindingQuote]:
        """Quote one use of ``operation`` and bind the price for ``valid_for``."""
        body = compact(
            operation=operation,
            quantities=quantities_doc(quantities),
            dimensions=None if dimensions is None else dict(dimensions),
            steps=steps_doc(steps),
            valid_for_seconds=int(check_validity(valid_for).total_seconds()),
        )
        return (yield from fetch(decode.binding_quote, org_post(org_id, "/quotes", body)))

    @op
    def binding_quote(self, org_id: str, quote_id: str) -> Flow[BindingQuote]:
        """One of the organization's quotes."""
        path = f"/quotes/{seg(quote_id)}"
        return (yield from fetch(decode.binding_quote, org_get(org_id, path)))

    @op
    def binding_quotes(self, org_id: str, limit: int = 100) -> Flow[list[BindingQuote]]:
        """The organization's quotes, newest first."""
        return (
            yield from fetch_each(
                decode.binding_quote, org_get(org_id, "/quotes", query_params(limit=limit))
            )
        )
