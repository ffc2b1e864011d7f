"""Every operation of the service, once, as the methods of both clients.

Each method has the name, the parameters and the defaults of the
:class:`~creditline.Creditline` method it mirrors, and returns the same type, built from
the service's answer (see :mod:`creditline.client.decode` for the few fields an answer
does not carry). Each is a generator of :class:`~creditline.client._wire.Call` objects
(see :mod:`creditline.client._wire`): :class:`~creditline.client.Client` runs it
synchronously, :class:`~creditline.client.AsyncClient` as a coroutine.

The operations are written feature by feature, one class of them per module of this
package; :class:`Operations` is all of them together.
"""

from __future__ import annotations

from typing import TypeVar

from creditline.client._wire import Op
from creditline.client.operations.alerts import AlertOperations
from creditline.client.operations.budgets import BudgetOperations
from creditline.client.operations.grace import GraceOperations
from creditline.client.operations.invoices import InvoiceOperations
from creditline.client.operations.keys import KeyOperations
from creditline.client.operations.money import MoneyOperations
from creditline.client.operations.organizations import OrganizationOperations
from creditline.client.operations.plans import PlanOperations
from creditline.client.operations.portal import PortalOperations
from creditline.client.operations.purchases import PurchaseOperations
from creditline.client.operations.quotes import QuoteOperations
from creditline.client.operations.rate_cards import RateCardOperations
from creditline.client.operations.reading import ReadingOperations
from creditline.client.operations.reservations import ReservationOperations
from creditline.client.operations.sales import SalesOperations
from creditline.client.operations.topups import TopupOperations
from creditline.client.operations.usage import UsageOperations
from creditline.client.operations.webhooks import WebhookOperations

__all__ = ["Operations"]

C = TypeVar("C", bound=type)


def _listed(cls: C) -> C:
    """Each operation of the feature classes, listed on ``cls`` itself too: its
    ``vars()`` name every operation (as a class of them written in one piece would)."""
    for base in reversed(cls.__mro__[1:]):
        for name, value in vars(base).items():
            if isinstance(value, Op):
                setattr(cls, name, value)
    return cls


@_listed
class Operations(
    OrganizationOperations,
    MoneyOperations,
    ReservationOperations,
    UsageOperations,
    PlanOperations,
    ReadingOperations,
    RateCardOperations,
    QuoteOperations,
    PurchaseOperations,
    TopupOperations,
    InvoiceOperations,
    AlertOperations,
    BudgetOperations,
    WebhookOperations,
    SalesOperations,
    GraceOperations,
    PortalOperations,
    KeyOperations,
):
    """The operations both clients share (see the module docstring)."""
