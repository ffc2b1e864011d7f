"""Every operation of the service, once, as the methods of both clients: one module per
feature (organizations, money, reservations, usage, plans, reading, rate cards,
purchases, top-ups, invoices, alerts, webhooks, sales, the portal, API keys), composed
into :class:`Operations` by :mod:`~creditline.client.operations.composed`."""

from creditline.client.operations.composed import Operations

__all__ = ["Operations"]
