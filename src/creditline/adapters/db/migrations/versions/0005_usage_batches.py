"""usage batches: each stored event names the batch it was recorded in

A batch's consume entries are netted per grant, project and member; an entry that
nets several events names the batch (cause ``usage_batch``), and this column leads
from the batch to its events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.String(length=40), nullable=True))
    op.create_index("ix_usage_events_batch_id", "usage_events", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_batch_id", table_name="usage_events")
    with op.batch_alter_table("usage_events") as batch_op:
        batch_op.drop_column("batch_id")
