"""Helpers of the top-up tests: a catalogue with a pack and an any-amount rate, and an
organization with a saved card (from a real checkout through the fake Stripe)."""

from __future__ import annotations

from creditline import Creditline, credits
from creditline.adapters.payments import FakeStripe
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.topups import Trigger

CATALOGUE = """
name = "topups"
refund_policy = "final"

[[packs]]
name = "refill"
description = "Refill"
credits = 100
prices_minor = { EUR = 1000 }
expiry = "never"

[[packs]]
name = "monthly"
description = "Monthly"
credits = 500
prices_minor = { EUR = 4000 }
expiry = "never"

[any_amount]
unit_prices_minor = { EUR = 10 }
min_credits = 5
max_credits = 100000
step_credits = 5
expiry = "never"
"""
"""``refill``: 100 credits for EUR 10.00; ``monthly``: 500 for EUR 40.00; any amount:
EUR 0.10 a credit, from 5 credits, in steps of 5."""

CARD = "pm_card_visa"


def customer_with_card(cl: Creditline, fake: FakeStripe, name: str = "Acme") -> str:
    """A new organization that bought the ``refill`` pack at a checkout (100 credits),
    so its card is saved for off-session charges."""
    org = cl.create_org(name).id
    bought = cl.create_purchase(org, "refill", currency="EUR")
    assert bought.session_id is not None
    fake.pay(bought.session_id, payment_method=CARD)
    assert cl.refresh_purchase(org, bought.id).status is PurchaseStatus.PAID
    assert cl.balance(org).available == credits(100)
    return org


def topups_of(cl: Creditline, org_id: str, trigger: Trigger) -> list[Purchase]:
    return [p for p in cl.purchases(org_id, limit=1000) if p.trigger is trigger]


def charges(fake: FakeStripe) -> list[dict]:
    """The PaymentIntents made off-session (a checkout's payment is not one of them)."""
    return [i for i in fake.payment_intents.values() if "purchase_id" in i["metadata"]
            and i["metadata"].get("trigger") in ("automatic", "recurring")]  # fmt: skip
