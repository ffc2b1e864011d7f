"""Buying credits through a payment provider (D1, D2, D3): checkout, confirmation,
receipts and refunds; and buying on account.

One module a step of a purchase's life:

- :mod:`~creditline.services.purchases.checkout`: a pending purchase and its checkout
  session at the provider;
- :mod:`~creditline.services.purchases.on_account`: credits at once, the price on the
  next monthly invoice;
- :mod:`~creditline.services.purchases.confirming`: the provider's word that it is
  paid (a webhook, a refresh), applied exactly once: the grant and the receipt;
- :mod:`~creditline.services.purchases.receipts`: a paid purchase's receipt, issued and
  e-mailed;
- :mod:`~creditline.services.purchases.refunds`: the unspent credits reversed, their
  money refunded;
- :mod:`~creditline.services.purchases.records`: what every way of buying writes alike
  (the purchase made from an offer, its ``prepaid`` grant).
"""

from creditline.services.purchases.checkout import (
    CANCEL_URL,
    SUCCESS_URL,
    CreatePurchase,
    create_purchase,
)
from creditline.services.purchases.confirming import (
    CHECKOUT_EVENTS,
    Settled,
    confirm_from_event,
    refresh_purchase,
    settle_checkout,
)
from creditline.services.purchases.on_account import ACCOUNT, buy_on_account
from creditline.services.purchases.receipts import send_receipt
from creditline.services.purchases.records import grant_purchase
from creditline.services.purchases.refunds import refund_purchase

__all__ = [
    "ACCOUNT",
    "CANCEL_URL",
    "CHECKOUT_EVENTS",
    "SUCCESS_URL",
    "CreatePurchase",
    "buy_on_account",
    "Settled",
    "confirm_from_event",
    "create_purchase",
    "grant_purchase",
    "refresh_purchase",
    "refund_purchase",
    "send_receipt",
    "settle_checkout",
]
