"""The CLI's views: each command's result as JSON-able ``data`` and terminal ``parts``.

One module per area (:mod:`.base` holds :class:`View` and the shared pieces); this
package re-exports the views of the ledger, prices and usage.
"""

from creditline.entrypoints.cli.views.base import View, Whole
from creditline.entrypoints.cli.views.ledger import (
    balance_view,
    database_view,
    debit_view,
    demo_view,
    expiry_view,
    grant_view,
    grants_view,
    history_view,
    member_view,
    orgs_view,
    project_view,
    verify_view,
)
from creditline.entrypoints.cli.views.pricing import (
    examples_view,
    metering_view,
    org_rate_card_view,
    org_status_view,
    plan_view,
    plans_view,
    quote_view,
    ratecard_check_view,
    ratecard_view,
    ratecards_view,
)
from creditline.entrypoints.cli.views.usage import (
    bad_lines_view,
    import_view,
    reservation_view,
    reservations_view,
    settlement_view,
    usage_event_view,
    usage_events_view,
    usage_report_view,
    usage_result_view,
)
from creditline.entrypoints.usage_export import usage_report_csv

__all__ = [
    "View",
    "Whole",
    "bad_lines_view",
    "balance_view",
    "database_view",
    "debit_view",
    "demo_view",
    "examples_view",
    "expiry_view",
    "grant_view",
    "grants_view",
    "history_view",
    "import_view",
    "member_view",
    "metering_view",
    "org_rate_card_view",
    "org_status_view",
    "orgs_view",
    "plan_view",
    "plans_view",
    "project_view",
    "quote_view",
    "ratecard_check_view",
    "ratecard_view",
    "ratecards_view",
    "reservation_view",
    "reservations_view",
    "settlement_view",
    "usage_event_view",
    "usage_events_view",
    "usage_report_csv",
    "usage_report_view",
    "usage_result_view",
    "verify_view",
]
