"""The service's JSON answers back into the library's own result types.

Every record is read by one function, :func:`~creditline.client.decode._common.record`,
from its class's fields and their type hints; a decoder here gives only the fields whose
answer differs from the record. Amounts come from the ``*_micros`` members (exact
integers), never from the decimal text. What an answer does not carry gets the value a
fresh object has, and is listed here (and in the client's docstring):

- ``Grant.seq`` (an ordering detail of grants made at the same instant): 0;
- ``Reservation.holds`` (what each grant holds): empty;
- ``StoredUsage.request_hash``: ``""``; ``StoredUsage.event.steps``: empty;
- ``Metering.entry_count`` (an internal counter): 0;
- ``Purchase.expiry``: never; its provider ids (``session_id``, ``payment_id``,
  ``refund_id``): ``None``; ``Receipt.email_error``: ``None``;
- ``Invoice.payment_id``: ``None``, ``Invoice.payment_attempts``: 0;
- ``VerifyReport.problems`` and a tick's job errors: rebuilt from their text.
"""

from creditline.client.decode._common import (
    allocations,
    cause,
    components,
    maybe_cause,
    maybe_when,
    money,
    when,
)
from creditline.client.decode.access import api_key, issued_key, portal_session
from creditline.client.decode.alerts import (
    alert_event,
    alert_params,
    alert_rule,
    alert_run,
    alert_state,
)
from creditline.client.decode.budgets import budget_standing
from creditline.client.decode.credits import (
    balance,
    cost_basis,
    debit,
    entry,
    grant,
    grant_source,
    scope,
    scoped_credits,
)
from creditline.client.decode.grace import grace_status, grace_terms
from creditline.client.decode.invoices import (
    billing_event,
    billing_record,
    flex_run,
    invoice,
    invoice_item,
    invoice_line,
)
from creditline.client.decode.organizations import member, organization, project
from creditline.client.decode.overview import burn_day, cycle_progress, expiring_credits, overview
from creditline.client.decode.plans import (
    OrgPlan,
    SubscriptionInfo,
    cycle,
    metering,
    org_plan,
    subscription,
)
from creditline.client.decode.pricing import (
    applied_multiplier,
    catalogue,
    component,
    plan,
    quote,
    rate_card,
    rate_card_history,
    rounding,
)
from creditline.client.decode.purchases import purchase, receipt
from creditline.client.decode.quotes import binding_quote
from creditline.client.decode.reservations import reservation, settlement
from creditline.client.decode.revenue import revenue_report
from creditline.client.decode.sales import sales_request, self_serve
from creditline.client.decode.service import job_run, tick_report, verify_report
from creditline.client.decode.topups import auto_topup, recurring_topup
from creditline.client.decode.usage import (
    batch_result,
    event_result,
    quantity,
    stored_usage,
    usage_event,
    usage_report,
    usage_row,
)
from creditline.client.decode.webhooks import (
    delivery,
    delivery_attempt,
    delivery_run,
    webhook_endpoint,
)
from creditline.client.decode.whatif import what_if

__all__ = [
    "OrgPlan",
    "SubscriptionInfo",
    "alert_event",
    "alert_params",
    "alert_rule",
    "alert_run",
    "alert_state",
    "allocations",
    "api_key",
    "applied_multiplier",
    "auto_topup",
    "balance",
    "batch_result",
    "budget_standing",
    "billing_event",
    "binding_quote",
    "billing_record",
    "burn_day",
    "catalogue",
    "cause",
    "component",
    "components",
    "cost_basis",
    "cycle",
    "cycle_progress",
    "debit",
    "delivery",
    "delivery_attempt",
    "delivery_run",
    "entry",
    "event_result",
    "expiring_credits",
    "flex_run",
    "grant",
    "grant_source",
    "invoice",
    "invoice_item",
    "invoice_line",
    "issued_key",
    "job_run",
    "maybe_cause",
    "maybe_when",
    "member",
    "metering",
    "money",
    "org_plan",
    "organization",
    "overview",
    "plan",
    "portal_session",
    "project",
    "purchase",
    "quantity",
    "quote",
    "rate_card",
    "rate_card_history",
    "receipt",
    "recurring_topup",
    "reservation",
    "rounding",
    "sales_request",
    "grace_status",
    "grace_terms",
    "scope",
    "scoped_credits",
    "self_serve",
    "settlement",
    "stored_usage",
    "subscription",
    "tick_report",
    "usage_event",
    "usage_report",
    "usage_row",
    "verify_report",
    "webhook_endpoint",
    "revenue_report",
    "what_if",
    "when",
]
