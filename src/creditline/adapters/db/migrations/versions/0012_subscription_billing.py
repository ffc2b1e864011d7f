"""subscription billing: plan fees on the monthly invoice, and dunning

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.String(length=40)
TIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("organizations", sa.Column("billing_hold", sa.String(length=40), nullable=True))
    op.add_column("subscriptions", sa.Column("currency", sa.String(length=3), nullable=True))
    op.add_column("invoices", sa.Column("collection", sa.String(length=20), nullable=True))
    op.add_column("invoices", sa.Column("next_attempt_at", TIME, nullable=True))
    op.create_index("ix_invoices_next_attempt_at", "invoices", ["next_attempt_at"])
    op.add_column(
        "invoice_lines",
        sa.Column("kind", sa.String(length=20), nullable=False, server_default="flex"),
    )
    # The monthly invoice now holds fees and purchases as well as flex: one kind.
    op.execute("UPDATE invoices SET kind = 'monthly' WHERE kind = 'flex'")
    op.create_table(
        "invoice_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("credits_micros", sa.BigInteger(), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("invoice_id", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_invoice_items_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_items_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_items")),
        sa.UniqueConstraint("org_id", "ref", name=op.f("uq_invoice_items_org_id_ref")),
    )
    op.create_index("ix_invoice_items_due_at", "invoice_items", ["due_at"])
    op.create_table(
        "billing_events",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("invoice_id", ID, nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_billing_events_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
        sa.UniqueConstraint("org_id", "ref", name=op.f("uq_billing_events_org_id_ref")),
    )
    op.create_index("ix_billing_events_org_id_id", "billing_events", ["org_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_billing_events_org_id_id", table_name="billing_events")
    op.drop_table("billing_events")
    op.drop_index("ix_invoice_items_due_at", table_name="invoice_items")
    op.drop_table("invoice_items")
    op.execute("UPDATE invoices SET kind = 'flex' WHERE kind = 'monthly'")
    op.drop_index("ix_invoices_next_attempt_at", table_name="invoices")
    # A column is dropped in place (SQLite 3.35+ and PostgreSQL): never by copying a table
    # that other tables' foreign keys point at.
    for table, column in (
        ("invoice_lines", "kind"),
        ("invoices", "next_attempt_at"),
        ("invoices", "collection"),
        ("subscriptions", "currency"),
        ("organizations", "billing_hold"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
