"""Country gating and contact sales."""

from __future__ import annotations

from creditline.client.decode._common import Doc, when
from creditline.domain.sales import SalesRequest, SalesRequestSource
from creditline.services.sales import SelfServe


def self_serve(d: Doc) -> SelfServe:
    countries = d["countries"]
    return SelfServe(
        d["org_id"], d["country"], d["available"], None if countries is None else tuple(countries)
    )


def sales_request(d: Doc) -> SalesRequest:
    return SalesRequest(
        id=d["id"],
        org_id=d["org_id"],
        country=d["country"],
        member_id=d["member_id"],
        email=d["email"],
        pack=d["pack"],
        credits=d["credits_micros"],
        message=d["message"],
        source=SalesRequestSource(d["source"]),
        created_at=when(d["created_at"]),
    )
