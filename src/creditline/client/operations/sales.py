"""Country gating and contact sales (D8)."""

from __future__ import annotations

from creditline.client import decode
from creditline.client._wire import Flow, op, seg
from creditline.domain.sales import SalesRequest
from creditline.services.sales import SelfServe

from ._requests import compact, fetch, fetch_each, org_get, org_post, query_params


class SalesOperations:
    """Country gating and contact sales (D8)."""

    @op
    def self_serve(self, org_id: str) -> Flow[SelfServe]:
        """Whether the organization can buy credits self-serve now, or contacts sales."""
        return (yield from fetch(decode.self_serve, org_get(org_id, "/self-serve")))

    @op
    def contact_sales(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        message: str | None = None,
        member_id: str | None = None,
        email: str | None = None,
        source: str = "api",
    ) -> Flow[SalesRequest]:
        """Ask sales about buying a pack or an amount (see the library's)."""
        body = compact(
            pack=pack,
            amount_micros=credits,
            message=message,
            member_id=member_id,
            email=email,
            source=source,
        )
        return (yield from fetch(decode.sales_request, org_post(org_id, "/sales-requests", body)))

    @op
    def sales_requests(
        self, org_id: str | None = None, limit: int = 100
    ) -> Flow[list[SalesRequest]]:
        """Contact-sales requests, newest first: an organization's, or every one."""
        path = "/sales-requests"
        return (
            yield from fetch_each(
                decode.sales_request, org_get(org_id, path, query_params(limit=limit))
            )
        )

    @op
    def sales_request(self, request_id: str, org_id: str | None = None) -> Flow[SalesRequest]:
        """One contact-sales request (``org_id``: only if it is that organization's)."""
        path = f"/sales-requests/{seg(request_id)}"
        return (yield from fetch(decode.sales_request, org_get(org_id, path)))
