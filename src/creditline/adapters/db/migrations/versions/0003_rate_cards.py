"""rate cards: stored versions, and the card each organization is priced by

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column is added in place (no table rebuild, even on SQLite).
    op.add_column("organizations", sa.Column("rate_card", sa.String(length=200), nullable=True))
    op.create_table(
        "rate_cards",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_rate_cards")),
    )
    op.create_index(
        "ix_rate_cards_name_effective_from",
        "rate_cards",
        ["name", "effective_from"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_rate_cards_name_effective_from", table_name="rate_cards")
    op.drop_table("rate_cards")
    # SQLite 3.35+ drops a column in place; nothing references it.
    op.drop_column("organizations", "rate_card")
