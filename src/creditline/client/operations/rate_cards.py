"""Rate cards and quotes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from creditline.client import decode
from creditline.client._wire import Flow, get, op, post, seg
from creditline.client.operations._requests import (
    card_doc,
    compact,
    fetch,
    fetch_each,
    org_get,
    org_post,
    org_put,
    quantities_doc,
    query_params,
    steps_doc,
)
from creditline.domain.pricing import Quantity, Quote, RateCard, RateCardHistory, Step
from creditline.domain.whatif import WhatIf
from creditline.services.ratecards import DEFAULT_RATE_CARD


class RateCardOperations:
    """Rate cards and quotes."""

    @op
    def load_rate_card(
        self,
        source: str | bytes | Mapping[str, Any] | RateCard,
        syntax: Literal["toml", "json"] = "toml",
    ) -> Flow[RateCard]:
        """Load one rate card version (operator) and return it as stored."""
        return (
            yield from fetch(decode.rate_card, post("/v1/rate-cards", card_doc(source, syntax)))
        )

    @op
    def rate_cards(self) -> Flow[list[RateCardHistory]]:
        return (yield from fetch_each(decode.rate_card_history, get("/v1/rate-cards")))

    @op
    def rate_card_history(self, name: str = DEFAULT_RATE_CARD) -> Flow[RateCardHistory]:
        return (yield from fetch(decode.rate_card_history, get(f"/v1/rate-cards/{seg(name)}")))

    @op
    def rate_card(
        self, name: str = DEFAULT_RATE_CARD, at: datetime | None = None
    ) -> Flow[RateCard]:
        """The version of card ``name`` in force at ``at`` (default: now)."""
        return (
            yield from fetch(
                decode.rate_card, get(f"/v1/rate-cards/{seg(name)}/current", query_params(at=at))
            )
        )

    @op
    def set_rate_card(self, org_id: str, name: str | None) -> Flow[str]:
        """Price the organization by card ``name`` from now on (operator)."""
        reply = yield org_put(org_id, "/rate-card", {"rate_card": name})
        return str(reply.json()["rate_card"])

    @op
    def org_rate_card(self, org_id: str) -> Flow[str]:
        reply = yield org_get(org_id, "/rate-card")
        return str(reply.json()["rate_card"])

    @op
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
    ) -> Flow[Quote]:
        """What ``operation`` costs, with its breakdown, spending nothing. Without an
        organization the card (``rate_card`` or the default) is fetched and priced here."""
        if org_id is None:
            moment = at or datetime.now(UTC)
            name = rate_card or DEFAULT_RATE_CARD
            reply = yield get(f"/v1/rate-cards/{seg(name)}/current", query_params(at=moment))
            card = decode.rate_card(reply.json())
            return card.price(operation, quantities, dimensions, steps=steps, at=moment)
        body = compact(
            operation=operation,
            quantities=quantities_doc(quantities),
            dimensions=None if dimensions is None else dict(dimensions),
            steps=steps_doc(steps),
            at=at,
            rate_card=rate_card,
        )
        return (yield from fetch(decode.quote, org_post(org_id, "/quote", body)))

    @op
    def what_if(
        self,
        draft: str | bytes | Mapping[str, Any] | RateCard,
        *,
        since: datetime,
        until: datetime | None = None,
        org_id: str | None = None,
        syntax: Literal["toml", "json"] = "toml",
    ) -> Flow[WhatIf]:
        """What a draft version of a rate card would have charged for past usage
        (operator); nothing is loaded or written."""
        body = card_doc(draft, syntax) | compact(
            since=since.isoformat(),
            until=None if until is None else until.isoformat(),
            org_id=org_id,
        )
        return (yield from fetch(decode.what_if, post("/v1/rate-cards/what-if", body)))
