"""The tables. Every credit column ends in ``_micros`` (micro-credits, signed 64-bit);
every money column ends in ``_minor`` (minor units of the row's currency)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

__all__ = [
    "balance_days",
    "balances",
    "budget_usage",
    "budgets",
    "cycle_renewals",
    "grants",
    "idempotency_keys",
    "ledger_entries",
    "members",
    "metadata",
    "organizations",
    "plans",
    "projects",
    "quotes",
    "rate_cards",
    "reservations",
    "subscriptions",
    "usage_events",
    "usage_rollups",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json: Any = JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = String(40)
# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a BIGINT.
EntryId = BigInteger().with_variant(Integer(), "sqlite")

organizations = Table(
    "organizations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("external_ref", String(200), nullable=True, unique=True),
    Column("consumption_order", String(200), nullable=False),
    Column("metadata", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The name of the rate card its usage is priced by; NULL: the engine's "default".
    Column("rate_card", String(200), nullable=True),
    # Its plan (NULL: the default plan), and its own depletion policy and flex switch
    # when they differ from the plan's (NULL: the plan's).
    Column("plan", String(200), nullable=True),
    Column("depletion", String(20), nullable=True),
    Column("flex_enabled", Boolean, nullable=True),
    # The overdue invoice (its number, INV-000042) the organization is suspended for,
    # after its plan's last payment retry failed; NULL: not suspended (migration 0012).
    Column("billing_hold", String(40), nullable=True),
    # Where it is: an ISO 3166-1 alpha-2 code (migration 0014); NULL: not given.
    Column("country", String(2), nullable=True),
    # Where it stands in its plan's grace (migration 0016; domain/grace.py): the state
    # (NULL: active), since when, and the grace micro-credits used in the current grace.
    Column("grace_state", String(20), nullable=True),
    Column("grace_since", UTCDateTime, nullable=True),
    Column("grace_used_micros", BigInteger, nullable=True),
)
Index("ix_organizations_grace_state", organizations.c.grace_state)

balances = Table(
    "balances",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    # The fold of the organization's ledger entries: the sum of its grants' remaining.
    Column("balance_micros", BigInteger, nullable=False),
    Column("entry_count", BigInteger, nullable=False),
    # What open reservations hold (already taken from the grants by reserve entries).
    Column("held_micros", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("org_id", "name"),
)

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("org_id", "email"),
)

grants = Table(
    "grants",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("remaining_micros", BigInteger, nullable=False),
    Column("effective_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("source_type", String(20), nullable=False),
    Column("source_ref", String(200), nullable=False),
    # Cost basis: price of one whole credit in minor units of cost_currency.
    Column("cost_unit_price_minor", BigInteger, nullable=True),
    Column("cost_currency", String(3), nullable=True),
    Column("metadata", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The organization's ledger entry count when the grant was made (orders same-instant grants).
    Column("seq", BigInteger, nullable=False),
    # What a scoped grant pays for (GrantScope.to_document(): a list of rules, each an
    # operation and the dimension values it covers); NULL: a general grant (migration 0015).
    Column("scope", Json, nullable=True),
    CheckConstraint("amount_micros > 0", name="amount_positive"),
    CheckConstraint(
        "remaining_micros >= 0 AND remaining_micros <= amount_micros", name="remaining_in_range"
    ),
    CheckConstraint("expires_at IS NULL OR expires_at > effective_at", name="expiry_after_start"),
)
# Only grants with credits left are ever read to spend or expire: keep that set indexed.
Index(
    "ix_grants_active_org",
    grants.c.org_id,
    postgresql_where=text("remaining_micros > 0"),
    sqlite_where=text("remaining_micros > 0"),
)
Index(
    "ix_grants_active_expiry",
    grants.c.expires_at,
    postgresql_where=text("remaining_micros > 0 AND expires_at IS NOT NULL"),
    sqlite_where=text("remaining_micros > 0 AND expires_at IS NOT NULL"),
)

# The ledger carries no foreign keys on purpose: it is the append path of every debit,
# and per-row foreign-key triggers halve its throughput on PostgreSQL. Entries are only
# written by services that hold the organization's lock and have just read the grants
# they name; ``verify`` checks that every entry's grant, project and member exist and
# belong to the entry's organization.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("org_id", Id, nullable=False),
    Column("grant_id", Id, nullable=False),
    Column("entry_type", String(20), nullable=False),
    # Signed from the organization's side: positive adds credits, negative takes them.
    Column("amount_micros", BigInteger, nullable=False),
    Column("cause_type", String(20), nullable=False),
    Column("cause_ref", String(200), nullable=False),
    Column("project_id", Id, nullable=True),
    Column("member_id", Id, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("metadata", Json, nullable=True),
    CheckConstraint("amount_micros <> 0", name="amount_nonzero"),
)
Index("ix_ledger_entries_org_id_id", ledger_entries.c.org_id, ledger_entries.c.id)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("outcome", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("held_micros", BigInteger, nullable=False),
    Column("consumed_micros", BigInteger, nullable=False),
    Column("shortfall_micros", BigInteger, nullable=False),
    # What each grant still holds, in draw order: [[grant_id, micros], ...].
    Column("holds", Json, nullable=False),
    Column("cause_type", String(20), nullable=False),
    Column("cause_ref", String(200), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime, nullable=True),
    # The outcome of the settlement, replayed to a duplicate commit or release.
    Column("outcome", Json, nullable=True),
    Column("metadata", Json, nullable=False),
    # What the hold is for, {"operation": ..., "dimensions": {...}} (the scoped grants that
    # cover it may pay); NULL: no operation, general grants only (migration 0015).
    Column("target", Json, nullable=True),
    # The capped API key the hold counts against (migration 0019); NULL: none.
    Column("key_id", Id, nullable=True),
    CheckConstraint("amount_micros > 0", name="amount_positive"),
    CheckConstraint("held_micros >= 0 AND held_micros <= amount_micros", name="held_in_range"),
)
Index("ix_reservations_org_id_status", reservations.c.org_id, reservations.c.status)
Index(
    "ix_reservations_open_expiry",
    reservations.c.expires_at,
    postgresql_where=text("status = 'open'"),
    sqlite_where=text("status = 'open'"),
)

# Every version of every rate card, as loaded. A stored version never changes: loading the
# same (name, version) again is a no-op when the document is identical and refused when it
# is not, so usage priced by a version keeps its price.
rate_cards = Table(
    "rate_cards",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", String(200), primary_key=True),
    Column("effective_from", UTCDateTime, nullable=False),
    # The version in document form (RateCard.to_dict(): credits as exact decimal text).
    # Plain JSON, not JSONB, on PostgreSQL too: it keeps the document's order of keys
    # (operations, matrix rows) as loaded.
    Column("document", JSON, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)
# The version in force at a time is the latest one starting at or before it; two versions
# of one card never start at the same instant.
Index(
    "ix_rate_cards_name_effective_from",
    rate_cards.c.name,
    rate_cards.c.effective_from,
    unique=True,
)

# Plans by name, in document form (Plan.to_dict()).
plans = Table(
    "plans",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("document", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Usage events with their outcome, accepted or refused (rejected ones are never stored).
# The unique (org_id, event_id) key is what makes recording an event exactly-once. What
# is only read back whole (quantities, dimensions, steps, metadata, the components of a
# pipeline's cost, the grants that paid) is one JSON body: one column to write, not six.
usage_events = Table(
    "usage_events",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("org_id", Id, nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("operation", String(200), nullable=False),
    Column("project_id", Id, nullable=True),
    Column("member_id", Id, nullable=True),
    Column("parent_id", String(200), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    Column("reason", Text, nullable=True),
    Column("rate_card", String(401), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("body", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("batch_id", Id, nullable=True),
    UniqueConstraint("org_id", "event_id"),
)
Index("ix_usage_events_org_id_occurred_at", usage_events.c.org_id, usage_events.c.occurred_at)
Index("ix_usage_events_batch_id", usage_events.c.batch_id)


# -- billing: packs, purchases, receipts, webhooks, invoices (migration 0007) -------------
# Owned by the billing services (services/purchases/, services/invoices/) through the
# repositories of adapters/db/billing/.

# The platform's credit pack catalogue (domain/packs.py, in document form), one row: a
# database runs one platform's catalogue, and loading one replaces it. A purchase copies
# its terms (credits, price, expiry, refund policy), so replacing the catalogue never
# changes a sale already made.
pack_catalogue = Table(
    "pack_catalogue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("document", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# Each organization's customer at a payment provider, and the payment method saved
# there for charges made without the buyer (flex invoices, D5).
billing_customers = Table(
    "billing_customers",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("provider", String(40), primary_key=True),
    Column("customer_id", String(255), nullable=False),
    Column("payment_method_id", String(255), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "customer_id"),
)

# Purchases of credits (domain/purchases.py). The provider's session and payment ids are
# unique, so one checkout can never belong to two purchases; the grant id is unique, so a
# purchase's credits exist at most once.
purchases = Table(
    "purchases",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("pack", String(100), nullable=False),
    Column("credits_micros", BigInteger, nullable=False),
    # The price, in minor units of currency.
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("refund_policy", String(20), nullable=False),
    # The grant's expiry rule in document form ("never", {"after": "6 months"}).
    Column("expiry", Json, nullable=False),
    Column("checkout_url", Text, nullable=True),
    Column("provider_session_id", String(255), nullable=True, unique=True),
    Column("provider_payment_id", String(255), nullable=True, unique=True),
    Column("grant_id", Id, ForeignKey("grants.id"), nullable=True, unique=True),
    Column("email", String(320), nullable=True),
    Column("refunded_credits_micros", BigInteger, nullable=False, server_default="0"),
    # Money returned by a refund, in minor units of currency.
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("provider_refund_id", String(255), nullable=True, unique=True),
    Column("failure", Text, nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("refunded_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # What made it: manual (a checkout), automatic or recurring (a top-up; migration 0013).
    Column("trigger", String(20), nullable=False, server_default="manual"),
    CheckConstraint("credits_micros > 0", name="credits_positive"),
    CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    CheckConstraint(
        "status NOT IN ('paid', 'refunded') OR grant_id IS NOT NULL", name="granted_when_paid"
    ),
    UniqueConstraint("org_id", "idempotency_key"),
)
Index("ix_purchases_org_id_created_at", purchases.c.org_id, purchases.c.created_at)

# One receipt per paid purchase; the e-mail columns say whether it reached the mail server.
receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("purchase_id", Id, ForeignKey("purchases.id"), nullable=False, unique=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("email", String(320), nullable=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("emailed_at", UTCDateTime, nullable=True),
    Column("email_error", Text, nullable=True),
)
Index("ix_receipts_org_id", receipts.c.org_id)

# Webhook events already processed, by the provider's event id: a delivery whose id is
# here is a duplicate. Written in the transaction of the event's effect.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("provider", String(40), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("event_type", String(100), nullable=False),
    # What it did: granted, paid, failed, unchanged, ignored...
    Column("outcome", String(40), nullable=False),
    # The purchase or invoice it concerned, if any.
    Column("ref", String(200), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Invoices (domain/invoices.py): numbered without gaps from invoice_counters, at most one
# per organization, kind and month.
invoices = Table(
    "invoices",
    metadata,
    Column("id", Id, primary_key=True),
    Column("number", BigInteger, nullable=False, unique=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("period", String(7), nullable=False),
    Column("currency", String(3), nullable=False),
    # The sum of its lines' amounts, in minor units of currency.
    Column("total_minor", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("voided_at", UTCDateTime, nullable=True),
    Column("provider_payment_id", String(255), nullable=True, unique=True),
    Column("payment_error", Text, nullable=True),
    # Charges of the saved payment method tried: the attempt's number is in its
    # idempotency key (a retry after a crash reuses it, one after a decline does not).
    Column("payment_attempts", Integer, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
    # Dunning (migration 0012): "retrying" or "overdue" (NULL: not in dunning), and when
    # the scheduler tries the charge again.
    Column("collection", String(20), nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    CheckConstraint("total_minor >= 0", name="total_not_negative"),
    UniqueConstraint("org_id", "kind", "period"),
)
Index("ix_invoices_next_attempt_at", invoices.c.next_attempt_at)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", Id, ForeignKey("invoices.id"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("description", String(500), nullable=False),
    Column("credits_micros", BigInteger, nullable=False),
    # The price of one credit and the line's amount, in minor units of the currency.
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    # fee, proration, flex, purchase or credit (domain/invoices.py LineKind); 0012.
    Column("kind", String(20), nullable=False, server_default="flex"),
)

# Amounts waiting for the next invoice (domain/invoices.py InvoiceItem, migration 0012):
# a plan's fee of a cycle, a proration at a plan change, a purchase on account, a credit
# carried. ref is unique per organization (a cycle's fee is recorded once, in the
# transaction of its renewal); invoice_id is set, under the organization's lock, by the
# transaction that stores the invoice billing it. amount_minor is in minor units of
# currency, negative for a credit.
invoice_items = Table(
    "invoice_items",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("ref", String(200), nullable=False),
    Column("description", String(500), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("credits_micros", BigInteger, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("org_id", "ref"),
)
Index("ix_invoice_items_due_at", invoice_items.c.due_at)

# The collection of invoices, step by step (domain/invoices.py BillingEvent, migration
# 0012): issued, payment_failed, retry_scheduled, suspended, paid, restored..., each with
# its cause. ref is unique per organization, so a step replayed (two workers, a retried
# transaction) is recorded once.
billing_events = Table(
    "billing_events",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("invoice_id", Id, nullable=True),
    Column("type", String(40), nullable=False),
    Column("cause", String(40), nullable=False),
    Column("ref", String(200), nullable=False),
    Column("data", Json, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("org_id", "ref"),
)
Index("ix_billing_events_org_id_id", billing_events.c.org_id, billing_events.c.id)

# The gapless invoice sequence: one row per series, locked (FOR UPDATE on PostgreSQL,
# the database write lock on SQLite) by the transaction that stores the next invoice.
invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("series", String(40), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

# A month's flex grants of every organization, found without reading all grants.
Index(
    "ix_grants_flex_source_ref",
    grants.c.source_ref,
    postgresql_where=text("kind = 'flex'"),
    sqlite_where=text("kind = 'flex'"),
)


# -- subscriptions: plans with billing cycles and their renewals (migration 0006) ---------
# Owned by services/cycles.py through adapters/db/subscriptions.py (domain/subscriptions.py).

# Each organization's plan with billing: the anchor its cycles are counted from (the
# sign-up or the last plan change; anchor_no counts them), the cycle geometry copied from
# the plan at that anchor, and the last cycle renewed. next_renewal_at (NULL once ended)
# is when the next cycle's grant falls due: the scheduler's one indexed query.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("plan", String(200), nullable=False),
    Column("billing_interval", String(20), nullable=False),
    Column("anchor_kind", String(20), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("anchored_at", UTCDateTime, nullable=False),
    Column("anchor_no", Integer, nullable=False),
    Column("signup", Boolean, nullable=False),
    Column("last_cycle", Integer, nullable=True),
    Column("next_renewal_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # The currency its plan's fee is billed in (NULL: a free plan), migration 0012.
    Column("currency", String(3), nullable=True),
)
Index("ix_subscriptions_next_renewal_at", subscriptions.c.next_renewal_at)

# Every cycle renewed, once: the key (org, anchor, cycle) is written in the transaction of
# the cycle's grant, so a second worker renewing the same cycle fails instead of granting
# twice. amount_micros is what the cycle granted (0 when the plan grants nothing).
cycle_renewals = Table(
    "cycle_renewals",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("anchor_no", Integer, primary_key=True, autoincrement=False),
    Column("cycle_index", Integer, primary_key=True, autoincrement=False),
    Column("plan", String(200), nullable=False),
    Column("cycle_start", UTCDateTime, nullable=False),
    Column("cycle_end", UTCDateTime, nullable=False),
    Column("grant_id", Id, nullable=True),
    Column("amount_micros", BigInteger, nullable=False),
    Column("renewed_at", UTCDateTime, nullable=False),
)


# -- the HTTP API: API keys and idempotent requests (migration 0008) ----------------------
# Owned by services/api_keys.py through adapters/db/api.py (domain/api_keys.py).

# API keys. Only a SHA-256 hash of the secret is kept; the prefix (the public part of the
# key's text) finds the row. An operator key has no organization; every other key has one.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=True),
    Column("role", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(20), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    # A key's limits (migration 0019): its spend cap, micro-credits a UTC "day" or "month",
    # and the operations it may charge (a JSON list); NULL: none.
    Column("cap_micros", BigInteger, nullable=True),
    Column("cap_window", String(10), nullable=True),
    Column("operations", Json, nullable=True),
    CheckConstraint(
        "(role = 'operator' AND org_id IS NULL) OR (role <> 'operator' AND org_id IS NOT NULL)",
        name="org_of_role",
    ),
)
Index("ix_api_keys_org_id", api_keys.c.org_id)

# What each capped key spent in each window (migration 0019): micro-credits of usage,
# debits and open holds counted in the UTC day or month starting at window_start. Moved
# in the charging group's transaction, under the key's organization's lock.
key_usage = Table(
    "key_usage",
    metadata,
    Column("key_id", Id, ForeignKey("api_keys.id"), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("used_micros", BigInteger, nullable=False),
    CheckConstraint("used_micros >= 0", name="used_not_negative"),
)

# The answers of POST requests sent with an Idempotency-Key header, per API key. A row
# without a status is a request still being answered (or one whose process died: it is
# taken over after a while). The same key with another request (its method, path and
# body hash) is refused; the same request gets the stored answer.
http_idempotency = Table(
    "http_idempotency",
    metadata,
    Column("key_id", Id, ForeignKey("api_keys.id"), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("request", String(500), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("content_type", String(200), nullable=True),
    Column("response_body", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
)
Index("ix_http_idempotency_created_at", http_idempotency.c.created_at)


# -- alerts and outgoing webhooks (migration 0009) ------------------------------------------
# Owned by services/alerts.py and services/deliveries.py through adapters/db/alerts.py
# (domain/alerts/, domain/deliveries.py).

# Alert rules of an organization (E2). params holds the kind's settings (credit amounts
# in micro-credits), channels the list of "webhook" and "email". A removed rule keeps its
# row (disabled_at) for its deliveries' sake.
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("params", Json, nullable=False),
    Column("channels", Json, nullable=False),
    Column("email", String(320), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)
# The evaluation reads the organizations that have active rules.
Index(
    "ix_alert_rules_active_org",
    alert_rules.c.org_id,
    postgresql_where=text("disabled_at IS NULL"),
    sqlite_where=text("disabled_at IS NULL"),
)

# Where each rule stands: armed or fired (it fires once per crossing), written under the
# organization's lock in the transaction that enqueues the rule's deliveries.
# last_value_micros is the available credits seen at the last change of state;
# signal_cursor the last alert_signals id a payment_failed rule fired for.
alert_states = Table(
    "alert_states",
    metadata,
    Column("rule_id", Id, ForeignKey("alert_rules.id"), primary_key=True),
    Column("org_id", Id, nullable=False),
    Column("state", String(10), nullable=False),
    Column("last_fired_at", UTCDateTime, nullable=True),
    Column("last_value_micros", BigInteger, nullable=True),
    Column("signal_cursor", BigInteger, nullable=False, server_default="0"),
    Column("fired_count", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Things that happened that alerts are about, numbered: a declined charge of the saved
# payment method (kind "payment_failed", ref "<invoice id>:<attempt>", written in the
# transaction that records the decline). A payment_failed rule fires once per row.
alert_signals = Table(
    "alert_signals",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("ref", String(200), nullable=False),
    Column("data", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("org_id", "kind", "ref"),
)
Index("ix_alert_signals_org_id_id", alert_signals.c.org_id, alert_signals.c.id)

# Webhook endpoints: an organization's, or the operator's (org_id NULL: every
# organization's events). The secret (whsec_...) signs what is sent; it is shown once,
# when the endpoint is added. event_types: the list it subscribes to (empty: all).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=True),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("event_types", Json, nullable=False),
    Column("description", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)
Index("ix_webhook_endpoints_org_id", webhook_endpoints.c.org_id)

# The outbox and delivery log: one row per event and endpoint (channel "webhook") or
# e-mail address (channel "email"). id is the message id (the webhook-id header, the
# same on every attempt); payload the exact JSON text signed and sent. A worker claims
# due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite) by counting
# the attempt and pushing next_attempt_at past a lease, so no other worker sends it
# at the same time.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel", String(10), nullable=False),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("org_id", Id, nullable=True),
    Column("rule_id", Id, nullable=True),
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "(channel = 'webhook' AND endpoint_id IS NOT NULL) OR "
        "(channel = 'email' AND recipient IS NOT NULL)",
        name="target_of_channel",
    ),
)
# The deliveries due: the one query of every worker's tick.
Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.next_attempt_at,
    postgresql_where=text("status = 'pending'"),
    sqlite_where=text("status = 'pending'"),
)
Index(
    "ix_webhook_deliveries_org_id_created_at",
    webhook_deliveries.c.org_id,
    webhook_deliveries.c.created_at,
)
Index("ix_webhook_deliveries_endpoint_id", webhook_deliveries.c.endpoint_id)

# Every attempt of every delivery: when, and the answer or the error.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", Id, ForeignKey("webhook_deliveries.id"), primary_key=True),
    Column("attempt_no", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=True),
)


# -- rollups: reports and the overview without scanning history (migration 0010) ----------
# Caches like ``balances``: kept exact in the transaction that writes what they sum
# (adapters/db/repositories/rollups.py), rebuilt from their sources by ``reports.rebuild_rollups``.

# Accepted usage per organization, UTC day of the events' own time, project, operation and
# member: how many events and what they cost now (voids and amends included). An event
# without a project or a member is keyed by '' (NOT NULL columns keep the primary key a
# plain one on both databases; no project or member id is ever empty). The sums saturate
# at +-MAX_MICROS rather than fail an ingest.
usage_rollups = Table(
    "usage_rollups",
    metadata,
    Column("org_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("project_id", Id, primary_key=True),
    Column("operation", String(200), primary_key=True),
    Column("member_id", Id, primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# The balance's movements per organization and UTC day of the transaction that wrote them
# (its entries' recorded_at): credited_micros sums the positive entries, debited_micros
# the negative ones (as a positive number), net_micros all of them (the day's change of
# balance), burnt_micros is minus the net of the consume, reserve, release and void
# entries (what usage took; below zero on a day that gave back more than it took),
# entries counts them. The sums saturate at +-MAX_MICROS rather than fail a movement;
# net_micros never reaches it (the balance itself stays within the range).
balance_days = Table(
    "balance_days",
    metadata,
    Column("org_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("credited_micros", BigInteger, nullable=False),
    Column("debited_micros", BigInteger, nullable=False),
    Column("net_micros", BigInteger, nullable=False),
    Column("burnt_micros", BigInteger, nullable=False),
    Column("entries", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)


# -- the web dashboard (migration 0011) ----------------------------------------------------
# Owned by services/portal.py through adapters/db/portal.py (domain/portal.py).

# The keys that sign portal links and the dashboard's session cookies, by name ("web"):
# made at random on first use, so every server process and every restart signs and checks
# with the same key. secret is the key's bytes in hex.
web_signing_keys = Table(
    "web_signing_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


# -- automatic and recurring top-ups (migration 0013) ---------------------------------------
# Owned by services/topups/ through adapters/db/topups.py (domain/topups.py). A top-up
# itself is a row of purchases (trigger automatic or recurring) under a unique key
# (auto-<n>, recurring-YYYY-MM).

# Each organization's automatic top-up setting and its state. armed is the guard of
# "exactly one top-up per crossing": it is turned off in the transaction that stores the
# crossing's pending top-up (pending_id), under the organization's lock.
topup_settings = Table(
    "topup_settings",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("threshold_micros", BigInteger, nullable=False),
    Column("buy", String(20), nullable=False),
    Column("pack", String(100), nullable=True),
    Column("credits_micros", BigInteger, nullable=True),
    Column("currency", String(3), nullable=False),
    # The monthly cap on automatic top-up spend, in minor units of currency (NULL: none).
    Column("monthly_cap_minor", BigInteger, nullable=True),
    Column("max_failures", Integer, nullable=False),
    Column("armed", Boolean, nullable=False),
    Column("crossings", Integer, nullable=False),
    Column("pending_id", Id, nullable=True),
    Column("failures", Integer, nullable=False),
    Column("retry_at", UTCDateTime, nullable=True),
    Column("last_skip", Text, nullable=True),
    Column("disabled_reason", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Each organization's recurring top-up: a pack bought monthly on a day (1-28, UTC).
topup_schedules = Table(
    "topup_schedules",
    metadata,
    Column("org_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("pack", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("day_of_month", Integer, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("last_period", String(7), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_topup_schedules_active", topup_schedules.c.active)
# -- country gating and contact sales (migration 0014) ---------------------------------------
# Owned by services/sales.py through adapters/db/sales.py (domain/sales.py).

# Contact-sales requests of organizations that cannot buy self-serve. credits_micros: the
# amount asked about, in micro-credits (NULL: a pack, or neither).
sales_requests = Table(
    "sales_requests",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("country", String(2), nullable=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("email", String(320), nullable=True),
    Column("pack", String(100), nullable=True),
    Column("credits_micros", BigInteger, nullable=True),
    Column("message", Text, nullable=False),
    Column("source", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("credits_micros IS NULL OR credits_micros > 0", name="credits_positive"),
)
Index("ix_sales_requests_created_at", sales_requests.c.created_at)
Index("ix_sales_requests_org_id_created_at", sales_requests.c.org_id, sales_requests.c.created_at)


# Binding quotes (domain/quotes.py): a price promised for one use, for a while. ``request``
# holds the usage priced (quantities, dimensions, steps), ``breakdown`` the quote as
# ``Quote.to_dict`` gives it; ``used_by`` names what used it (``usage_event:evt_1``).
quotes = Table(
    "quotes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("operation", String(200), nullable=False),
    Column("request", Json, nullable=False),
    Column("total_micros", BigInteger, nullable=False),
    Column("card", String(200), nullable=False),
    Column("version", String(200), nullable=False),
    Column("breakdown", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_by", String(300), nullable=True),
    CheckConstraint("total_micros >= 0", name="total_not_negative"),
    CheckConstraint("expires_at > created_at", name="validity"),
)
Index("ix_quotes_org_id_created_at", quotes.c.org_id, quotes.c.created_at)

# -- budgets inside an organization's pool (migration 0017) ----------------------------------
# Owned by services/budgets.py through adapters/db/budgets.py (domain/budgets.py); counted by
# the charging group (domain/charging/budgets.py) under the organization's lock.

# A cap on what one project or member consumes per period. amount_micros: micro-credits per
# period; alerts: the percents of it that fire an alert, [80, 100].
budgets = Table(
    "budgets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("scope_id", Id, nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("period", String(10), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("alerts", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("amount_micros > 0", name="amount_positive"),
)
Index("ix_budgets_org_id", budgets.c.org_id)

# What each budget's scope consumed in one period (the period's start), written in the
# transaction of the ledger entries: consumed_micros in micro-credits; alerted the highest
# alert percent fired in the period (0: none). Open holds are read from reservations.
budget_usage = Table(
    "budget_usage",
    metadata,
    Column("budget_id", Id, ForeignKey("budgets.id", ondelete="CASCADE"), primary_key=True),
    Column("period_start", UTCDateTime, primary_key=True),
    Column("consumed_micros", BigInteger, nullable=False),
    Column("alerted", Integer, nullable=False, server_default="0"),
)

# -- grace between depletion and lock (migration 0016) ---------------------------------------
# Owned by services/grace.py through adapters/db/grace.py (domain/grace.py).

# Every change of an organization's grace state, with its cause (cause_type: usage_event,
# debit, purchase, grant, plan_cycle, time...; cause_ref its id) and the instant it took
# effect (a deadline's, even when applied later: recorded_at says when), numbered in order.
grace_transitions = Table(
    "grace_transitions",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("org_id", Id, ForeignKey("organizations.id"), nullable=False),
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("cause_type", String(40), nullable=False),
    Column("cause_ref", String(200), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)
Index("ix_grace_transitions_org_id_id", grace_transitions.c.org_id, grace_transitions.c.id)
