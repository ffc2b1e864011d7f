"""A Python client of the creditline service: the library's API, over HTTP.

Switching a platform from the embedded engine to the service is one line::

    cl = Creditline.open("postgresql://db/credits")                  # embedded
    cl = creditline.Client("https://credits.internal", "cl_live_...")  # service

:class:`Client` (``httpx.Client``) and :class:`AsyncClient` (``httpx.AsyncClient``,
every method a coroutine) have the methods of :class:`~creditline.Creditline` that the
service exposes, with the same names, parameters and defaults, and return the same
types (``Organization``, ``Grant``, ``Balance``, ``DebitResult``, ``EventResult``,
``Quote``, ``Reservation``, ``Settlement``, ``StoredUsage``, ``RateCard``, ``Plan``...)
built from the answers' exact ``*_micros`` integers. Errors are the library's own
classes, rebuilt from the service's problem details with their attributes
(``InsufficientCredits(org_id, needed, available)``, ``PlanGateRefused(plan, rule,
reason)``, ``InvalidUsage(operation, problems)``, the ``NotFound`` family...), see
:mod:`creditline.client.errors`.

Every POST carries an ``Idempotency-Key`` (the caller's ``idempotency_key``, else a
fresh one per call) and failed attempts are retried (connection errors, 429, 502, 503,
honouring ``Retry-After``): see :mod:`creditline.client.clients`.

**What differs from the library.**

- Not mirrored, since the service has no route for them: ``spend_many``,
  ``expire_due``/``renew_due`` (the service's scheduler runs them; :meth:`Client.tick`
  runs it once), ``add_tick_job``, ``handle_webhook`` (the payment provider calls the
  service), ``subscription``, the request bookkeeping of the HTTP layer
  (``authenticate``, ``begin_request``...), ``open``.
- ``subscribe`` and ``change_plan`` return an :class:`OrgPlan` (metering, read-only
  state, subscription, change) in place of ``PlanAssigned``, whose renewals and reset
  amounts the answer does not carry; :meth:`Client.org_plan` reads it.
- ``record_usage`` sends one batch per organization: each organization's events are one
  transaction (the library: the whole call). An event the service's schema refuses
  (an empty id, an unknown field) fails its whole batch with
  :class:`~creditline.client.errors.InvalidRequest` instead of a rejected result.
- Request-shape checks are the service's: a wrong type answers
  :class:`~creditline.client.errors.InvalidRequest` (a ``ValidationError``) where the
  library may raise a more specific ``ValidationError`` subclass; floats are sent as
  exact decimals (the library refuses float quantities).
- The alert and webhook methods whose ``org_id`` is optional (``add_webhook``,
  ``webhook_endpoints``, ``disable_alert``, ``webhook_deliveries``...) call the
  organization's routes when it is given, else the operator's (an operator key).
- ``grant`` takes only operator sources (``GrantSource(SourceType.OPERATOR, ...)``);
  ``reserve``'s ``ttl`` is whole seconds; ``load_plans`` stores plan by plan.
- A few fields the answers do not carry have their defaults (listed in
  :mod:`creditline.client.decode`): ``Grant.seq``, ``Reservation.holds``,
  ``StoredUsage.request_hash`` and ``.event.steps``, ``Metering.entry_count``, some
  provider ids of purchases and invoices.
"""

from creditline.client.clients import DEFAULT_TIMEOUT, AsyncClient, Client
from creditline.client.decode import OrgPlan, SubscriptionInfo
from creditline.client.errors import (
    InvalidRequest,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    error_from_problem,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "Client",
    "InvalidRequest",
    "OrgPlan",
    "RateLimited",
    "ServiceError",
    "ServiceUnavailable",
    "SubscriptionInfo",
    "error_from_problem",
]
