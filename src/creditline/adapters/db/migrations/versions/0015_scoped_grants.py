"""scoped grants: what a grant pays for, and what a hold is for

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # A scoped grant's rules (NULL: a general grant, as every grant made before).
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("scope", JSON, nullable=True))
    # What a hold is for (NULL: no operation, as every hold made before).
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(sa.Column("target", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("target")
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("scope")
