"""Payment providers: Stripe, none (operator grants only), and Stripe in memory for tests
(served over HTTP with a test checkout page for the demo by :mod:`.fake_checkout`, run
as a program, so not imported here).

The :class:`PaymentProvider` protocol they implement is the services' (defined in
:mod:`creditline.services.ports.payments`, re-exported here): services never import adapters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from creditline.adapters.payments.none import NoPayments
from creditline.services.ports.payments import PaymentProvider

if TYPE_CHECKING:
    from creditline.adapters.payments.fake_stripe import FakeStripe, FakeStripeServer, sign
    from creditline.adapters.payments.stripe_provider import DEFAULT_TOLERANCE, StripeProvider

# Stripe's SDK takes most of a second to import: its modules load on first use, so that
# a CLI command or a server without payments never pays for it.
_LAZY = {
    "FakeStripe": "fake_stripe",
    "FakeStripeServer": "fake_stripe",
    "sign": "fake_stripe",
    "DEFAULT_TOLERANCE": "stripe_provider",
    "StripeProvider": "stripe_provider",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_TOLERANCE",
    "FakeStripe",
    "FakeStripeServer",
    "NoPayments",
    "PaymentProvider",
    "StripeProvider",
    "sign",
]
