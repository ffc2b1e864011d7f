"""subscriptions: each organization's plan, cycle anchor and the cycles already renewed

``subscriptions`` holds one row per organization on a plan with billing;
``cycle_renewals`` one row per cycle renewed, whose key (org, anchor, cycle) makes each
renewal happen at most once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=False),
        sa.Column("billing_interval", sa.String(length=20), nullable=False),
        sa.Column("anchor_kind", sa.String(length=20), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("anchored_at", TIME, nullable=False),
        sa.Column("anchor_no", sa.Integer(), nullable=False),
        sa.Column("signup", sa.Boolean(), nullable=False),
        sa.Column("last_cycle", sa.Integer(), nullable=True),
        sa.Column("next_renewal_at", TIME, nullable=True),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_subscriptions_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_subscriptions")),
    )
    op.create_index("ix_subscriptions_next_renewal_at", "subscriptions", ["next_renewal_at"])
    op.create_table(
        "cycle_renewals",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("anchor_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=False),
        sa.Column("cycle_start", TIME, nullable=False),
        sa.Column("cycle_end", TIME, nullable=False),
        sa.Column("grant_id", ID, nullable=True),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("renewed_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_cycle_renewals_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "anchor_no", "cycle_index", name=op.f("pk_cycle_renewals")
        ),
    )


def downgrade() -> None:
    op.drop_table("cycle_renewals")
    op.drop_index("ix_subscriptions_next_renewal_at", table_name="subscriptions")
    op.drop_table("subscriptions")
