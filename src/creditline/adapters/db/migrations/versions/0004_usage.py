"""usage: events with their outcomes, plans, and each organization's metering settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plans")),
    )
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(sa.Column("plan", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("depletion", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("flex_enabled", sa.Boolean(), nullable=True))
    op.create_table(
        "usage_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("member_id", sa.String(length=40), nullable=True),
        sa.Column("parent_id", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rate_card", sa.String(length=401), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint("org_id", "event_id", name=op.f("uq_usage_events_org_id_event_id")),
    )
    op.create_index("ix_usage_events_org_id_occurred_at", "usage_events", ["org_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_org_id_occurred_at", table_name="usage_events")
    op.drop_table("usage_events")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("flex_enabled")
        batch_op.drop_column("depletion")
        batch_op.drop_column("plan")
    op.drop_table("plans")
