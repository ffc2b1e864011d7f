"""keys with a cap: an API key's spend cap and operations, and what it spent per window

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A key's limits (NULL: none, as every key made before).
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("cap_micros", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cap_window", sa.String(10), nullable=True))
        batch.add_column(sa.Column("operations", JSON, nullable=True))
    # The capped key a hold counts against (NULL: none).
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
    op.create_table(
        "key_usage",
        sa.Column("key_id", sa.String(40), sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("window_start", UTC_TIME, primary_key=True),
        sa.Column("used_micros", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("used_micros >= 0", name="used_not_negative"),
    )


def downgrade() -> None:
    op.drop_table("key_usage")
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("operations")
        batch.drop_column("cap_window")
        batch.drop_column("cap_micros")
