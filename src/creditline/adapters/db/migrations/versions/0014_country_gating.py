"""country gating: an organization's country, and contact-sales requests

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A nullable column is added in place (no table rebuild, even on SQLite).
    op.add_column("organizations", sa.Column("country", sa.String(length=2), nullable=True))
    op.create_table(
        "sales_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("member_id", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("credits_micros", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint(
            "credits_micros IS NULL OR credits_micros > 0",
            name=op.f("ck_sales_requests_credits_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_sales_requests_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_sales_requests_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_requests")),
    )
    op.create_index("ix_sales_requests_created_at", "sales_requests", ["created_at"])
    op.create_index(
        "ix_sales_requests_org_id_created_at", "sales_requests", ["org_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sales_requests_org_id_created_at", table_name="sales_requests")
    op.drop_index("ix_sales_requests_created_at", table_name="sales_requests")
    op.drop_table("sales_requests")
    # SQLite 3.35+ drops a column in place; nothing references it.
    op.drop_column("organizations", "country")
