"""binding quotes: a price promised for one use, for a while

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("operation", sa.String(length=200), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("total_micros", sa.BigInteger(), nullable=False),
        sa.Column("card", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("breakdown", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("used_by", sa.String(length=300), nullable=True),
        sa.CheckConstraint("total_micros >= 0", name=op.f("ck_quotes_total_not_negative")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_quotes_validity")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_quotes_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_index(
        op.f("ix_quotes_org_id_created_at"), "quotes", ["org_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_quotes_org_id_created_at"), table_name="quotes")
    op.drop_table("quotes")
