"""Monthly invoices (D5, D6): the plan's fees, the month's flex and the purchases on
account, issued on the 1st, numbered without gaps, paid with the stored payment
method; dunning when the charge fails; and the billing history of an organization (D4).

One module a step of an invoice's life:

- :mod:`~creditline.services.invoices.issuing`: the month's invoices issued, once each,
  numbered without gaps;
- :mod:`~creditline.services.invoices.charges`: an invoice charged to the saved payment
  method, and charged again;
- :mod:`~creditline.services.invoices.dunning`: what a declined charge leads to (a retry,
  a suspension) and what a payment lifts;
- :mod:`~creditline.services.invoices.closing`: an invoice marked paid or voided by an
  operator, or reported paid by the provider;
- :mod:`~creditline.services.invoices.history`: the organization's billing history and
  events;
- :mod:`~creditline.services.invoices.records`: what every step writes alike (billing
  events, the invoice paid).
"""

from creditline.services.invoices.charges import pay_invoice, retry_open_invoices, retry_payments
from creditline.services.invoices.closing import mark_invoice_paid, settle_invoice, void_invoice
from creditline.services.invoices.history import billing_events, billing_history
from creditline.services.invoices.issuing import (
    FlexRun,
    MonthRun,
    invoice_due,
    invoice_flex,
    invoice_month,
)

__all__ = [
    "FlexRun",
    "MonthRun",
    "billing_events",
    "billing_history",
    "invoice_due",
    "invoice_flex",
    "invoice_month",
    "mark_invoice_paid",
    "pay_invoice",
    "retry_open_invoices",
    "retry_payments",
    "settle_invoice",
    "void_invoice",
]
