"""The ports: everything the services need from outside the engine, as protocols.

The services are written against these and nothing else; the adapters implement them
and :mod:`creditline.bootstrap` wires one implementation of each.

- :mod:`~creditline.services.ports.unit_of_work`: storage. :class:`UnitOfWork` is one
  transaction (with the organization locks it takes) and holds one store per aggregate:
  organizations, balances, grants, the ledger (:class:`HistoryFilter` is what its history
  is asked for by), reservations, rate cards, usage, the charging rows, plans,
  subscriptions, API keys, idempotent HTTP requests, reports, top-ups, sales requests,
  and the two families below. Implemented by ``adapters/db/uow.py``.
- :mod:`~creditline.services.ports.alerts`: alert rules and their states; webhook
  endpoints, deliveries and attempts (``adapters/db/alerts.py``).
- :mod:`~creditline.services.ports.billing`: packs, purchases, payment records and
  invoices (``adapters/db/billing/``).
- :mod:`~creditline.services.ports.payments`: a payment provider (checkout, saved-card
  charges, refunds, verified webhook events) and a receipt sender
  (``adapters/payments/``, ``adapters/notify/email.py``).
"""

from __future__ import annotations

from creditline.services.ports.alerts import AlertStore, WebhookStore
from creditline.services.ports.billing import (
    InvoiceStore,
    PackStore,
    PaymentRecordStore,
    PurchaseStore,
)
from creditline.services.ports.payments import (
    Charge,
    CheckoutRequest,
    CheckoutSession,
    CheckoutState,
    PaymentProvider,
    ProviderEvent,
    ReceiptSender,
    Transactions,
)
from creditline.services.ports.unit_of_work import (
    ApiKeyStore,
    BalanceStore,
    ChargingStore,
    GrantStore,
    HistoryFilter,
    HttpRequestStore,
    IdempotencyStore,
    LedgerStore,
    OrganizationStore,
    PlanStore,
    RateCardStore,
    ReportStore,
    ReservationStore,
    SalesRequestStore,
    SubscriptionStore,
    TopupStore,
    UnitOfWork,
    UsageStore,
    WhatIfStore,
)

__all__ = [
    "AlertStore",
    "ApiKeyStore",
    "BalanceStore",
    "Charge",
    "ChargingStore",
    "CheckoutRequest",
    "CheckoutSession",
    "CheckoutState",
    "GrantStore",
    "HistoryFilter",
    "HttpRequestStore",
    "IdempotencyStore",
    "InvoiceStore",
    "LedgerStore",
    "OrganizationStore",
    "PackStore",
    "PaymentProvider",
    "PaymentRecordStore",
    "PlanStore",
    "ProviderEvent",
    "PurchaseStore",
    "RateCardStore",
    "ReceiptSender",
    "ReportStore",
    "ReservationStore",
    "SalesRequestStore",
    "SubscriptionStore",
    "TopupStore",
    "Transactions",
    "UnitOfWork",
    "UsageStore",
    "WebhookStore",
    "WhatIfStore",
]
