"""Payment providers: Stripe, none (operator grants only), and Stripe in memory for tests
(served over HTTP with a test checkout page for the demo by :mod:`.fake_checkout`, run
as a program, so not imported here).

The :class:`PaymentProvider` protocol they implement is the services' (defined in
:mod:`creditline.services.payments`, re-exported here): services never import adapters.
"""

from creditline.adapters.payments.fake_stripe import FakeStripe, FakeStripeServer, sign
from creditline.adapters.payments.none import NoPayments
from creditline.adapters.payments.stripe_provider import DEFAULT_TOLERANCE, StripeProvider
from creditline.services.payments import PaymentProvider

__all__ = [
    "DEFAULT_TOLERANCE",
    "FakeStripe",
    "FakeStripeServer",
    "NoPayments",
    "PaymentProvider",
    "StripeProvider",
    "sign",
]
