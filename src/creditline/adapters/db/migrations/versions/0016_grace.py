"""grace: an organization's grace standing, and the history of its transitions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Nullable columns are added in place (no table rebuild, even on SQLite); NULL: active.
    op.add_column("organizations", sa.Column("grace_state", sa.String(length=20), nullable=True))
    op.add_column("organizations", sa.Column("grace_since", TIME, nullable=True))
    op.add_column("organizations", sa.Column("grace_used_micros", sa.BigInteger(), nullable=True))
    op.create_table(
        "grace_transitions",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("cause_type", sa.String(length=40), nullable=False),
        sa.Column("cause_ref", sa.String(length=200), nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_grace_transitions_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grace_transitions")),
    )
    op.create_index("ix_grace_transitions_org_id_id", "grace_transitions", ["org_id", "id"])
    op.create_index("ix_organizations_grace_state", "organizations", ["grace_state"])


def downgrade() -> None:
    op.drop_index("ix_organizations_grace_state", table_name="organizations")
    op.drop_index("ix_grace_transitions_org_id_id", table_name="grace_transitions")
    op.drop_table("grace_transitions")
    # SQLite 3.35+ drops a column in place; nothing references them.
    op.drop_column("organizations", "grace_used_micros")
    op.drop_column("organizations", "grace_since")
    op.drop_column("organizations", "grace_state")
