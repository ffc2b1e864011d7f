"""Credit packs, purchases and refunds (D1-D3)."""

from __future__ import annotations

from creditline.client import decode
from creditline.client._wire import Flow, get, op, put, seg
from creditline.domain.errors import PackNotFound
from creditline.domain.packs import Catalogue
from creditline.domain.purchases import Purchase, Receipt
from creditline.services.purchases import CANCEL_URL, SUCCESS_URL

from ._requests import compact, fetch, fetch_each, org_get, org_post, query_params


class PurchaseOperations:
    """Credit packs, purchases and refunds (D1-D3)."""

    @op
    def load_packs(self, text: str | bytes) -> Flow[Catalogue]:
        """Store the credit pack catalogue of a TOML document (operator)."""
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        return (yield from fetch(decode.catalogue, put("/v1/packs", {"toml": source})))

    @op
    def packs(self) -> Flow[Catalogue | None]:
        """The pack catalogue, or ``None`` when none is loaded."""
        try:
            reply = yield get("/v1/packs")
        except PackNotFound:
            return None
        return decode.catalogue(reply.json())

    @op
    def create_purchase(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        success_url: str = SUCCESS_URL,
        cancel_url: str = CANCEL_URL,
        email: str | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[Purchase]:
        """Start buying ``pack`` (or ``credits`` micro-credits): a pending purchase and
        its ``checkout_url``."""
        body = compact(
            pack=pack,
            amount_micros=credits,
            currency=currency,
            success_url=success_url,
            cancel_url=cancel_url,
            email=email,
        )
        path = "/purchases"
        return (
            yield from fetch(decode.purchase, org_post(org_id, path, body, key=idempotency_key))
        )

    @op
    def buy_on_account(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        idempotency_key: str | None = None,
    ) -> Flow[Purchase]:
        """Buy on account (operator): credited now, billed on the next monthly invoice."""
        body = compact(pack=pack, amount_micros=credits, currency=currency)
        path = "/purchases/on-account"
        return (
            yield from fetch(decode.purchase, org_post(org_id, path, body, key=idempotency_key))
        )

    @op
    def refresh_purchase(self, org_id: str, purchase_id: str) -> Flow[Purchase]:
        return (
            yield from fetch(
                decode.purchase, org_post(org_id, f"/purchases/{seg(purchase_id)}/refresh")
            )
        )

    @op
    def refund_purchase(self, org_id: str, purchase_id: str) -> Flow[Purchase]:
        return (
            yield from fetch(
                decode.purchase, org_post(org_id, f"/purchases/{seg(purchase_id)}/refund")
            )
        )

    @op
    def purchase(self, org_id: str, purchase_id: str) -> Flow[Purchase]:
        return (
            yield from fetch(decode.purchase, org_get(org_id, f"/purchases/{seg(purchase_id)}"))
        )

    @op
    def purchases(self, org_id: str, limit: int = 100) -> Flow[list[Purchase]]:
        return (
            yield from fetch_each(
                decode.purchase, org_get(org_id, "/purchases", query_params(limit=limit))
            )
        )

    @op
    def receipt(self, org_id: str, purchase_id: str) -> Flow[Receipt]:
        path = f"/purchases/{seg(purchase_id)}/receipt"
        return (yield from fetch(decode.receipt, org_get(org_id, path)))
