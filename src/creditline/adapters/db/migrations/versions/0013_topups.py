"""automatic and recurring top-ups: their settings, schedules and the purchase's trigger

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "purchases",
        sa.Column("trigger", sa.String(length=20), server_default="manual", nullable=False),
    )
    op.create_table(
        "topup_settings",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold_micros", sa.BigInteger(), nullable=False),
        sa.Column("buy", sa.String(length=20), nullable=False),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("credits_micros", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("monthly_cap_minor", sa.BigInteger(), nullable=True),
        sa.Column("max_failures", sa.Integer(), nullable=False),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.Column("crossings", sa.Integer(), nullable=False),
        sa.Column("pending_id", ID, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", TIME, nullable=True),
        sa.Column("last_skip", sa.Text(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_topup_settings_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_topup_settings")),
    )
    op.create_table(
        "topup_schedules",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("pack", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_period", sa.String(length=7), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_topup_schedules_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_topup_schedules")),
    )
    op.create_index("ix_topup_schedules_active", "topup_schedules", ["active"])


def downgrade() -> None:
    op.drop_index("ix_topup_schedules_active", table_name="topup_schedules")
    op.drop_table("topup_schedules")
    op.drop_table("topup_settings")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("trigger")
