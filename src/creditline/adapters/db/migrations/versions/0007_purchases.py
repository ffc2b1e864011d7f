"""purchases: the pack catalogue, purchases, receipts, webhook events and flex invoices

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.String(length=40)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pack_catalogue",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_pack_catalogue_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_catalogue")),
    )
    op.create_table(
        "billing_customers",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_billing_customers_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", "provider", name=op.f("pk_billing_customers")),
        sa.UniqueConstraint(
            "provider", "customer_id", name=op.f("uq_billing_customers_provider_customer_id")
        ),
    )
    op.create_table(
        "purchases",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("pack", sa.String(length=100), nullable=False),
        sa.Column("credits_micros", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("refund_policy", sa.String(length=20), nullable=False),
        sa.Column("expiry", JSON, nullable=False),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("provider_session_id", sa.String(length=255), nullable=True),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("grant_id", ID, nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("refunded_credits_micros", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("paid_at", TIME, nullable=True),
        sa.Column("refunded_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("credits_micros > 0", name=op.f("ck_purchases_credits_positive")),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_purchases_amount_not_negative")),
        sa.CheckConstraint(
            "status NOT IN ('paid', 'refunded') OR grant_id IS NOT NULL",
            name=op.f("ck_purchases_granted_when_paid"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_purchases_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_purchases_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint(
            "org_id", "idempotency_key", name=op.f("uq_purchases_org_id_idempotency_key")
        ),
        sa.UniqueConstraint("provider_session_id", name=op.f("uq_purchases_provider_session_id")),
        sa.UniqueConstraint("provider_payment_id", name=op.f("uq_purchases_provider_payment_id")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_purchases_grant_id")),
        sa.UniqueConstraint("provider_refund_id", name=op.f("uq_purchases_provider_refund_id")),
    )
    op.create_index("ix_purchases_org_id_created_at", "purchases", ["org_id", "created_at"])
    op.create_table(
        "receipts",
        sa.Column("id", ID, nullable=False),
        sa.Column("purchase_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("emailed_at", TIME, nullable=True),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_receipts_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_receipts_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_receipts_purchase_id")),
    )
    op.create_index("ix_receipts_org_id", "receipts", ["org_id"])
    op.create_table(
        "webhook_events",
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_webhook_events")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", ID, nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("paid_at", TIME, nullable=True),
        sa.Column("voided_at", TIME, nullable=True),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("payment_error", sa.Text(), nullable=True),
        sa.Column("payment_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("total_minor >= 0", name=op.f("ck_invoices_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_invoices_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint(
            "org_id", "kind", "period", name=op.f("uq_invoices_org_id_kind_period")
        ),
        sa.UniqueConstraint("provider_payment_id", name=op.f("uq_invoices_provider_payment_id")),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("credits_micros", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("invoice_id", "position", name=op.f("pk_invoice_lines")),
    )
    counters = op.create_table(
        "invoice_counters",
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_invoice_counters")),
    )
    # The counter row exists before any invoice, so issuing one only ever locks it.
    op.bulk_insert(counters, [{"series": "invoice", "last_number": 0}])
    op.create_index(
        "ix_grants_flex_source_ref",
        "grants",
        ["source_ref"],
        postgresql_where=sa.text("kind = 'flex'"),
        sqlite_where=sa.text("kind = 'flex'"),
    )


def downgrade() -> None:
    op.drop_index("ix_grants_flex_source_ref", table_name="grants")
    op.drop_table("invoice_counters")
    op.drop_table("invoice_lines")
    op.drop_table("invoices")
    op.drop_table("webhook_events")
    op.drop_index("ix_receipts_org_id", table_name="receipts")
    op.drop_table("receipts")
    op.drop_index("ix_purchases_org_id_created_at", table_name="purchases")
    op.drop_table("purchases")
    op.drop_table("billing_customers")
    op.drop_table("pack_catalogue")
