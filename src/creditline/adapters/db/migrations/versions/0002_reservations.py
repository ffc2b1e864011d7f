"""reservations: two-phase holds, and what each organization holds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("balances") as batch_op:
        batch_op.add_column(
            sa.Column("held_micros", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("held_micros", sa.BigInteger(), nullable=False),
        sa.Column("consumed_micros", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_micros", sa.BigInteger(), nullable=False),
        sa.Column("holds", JSON, nullable=False),
        sa.Column("cause_type", sa.String(length=20), nullable=False),
        sa.Column("cause_ref", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("member_id", sa.String(length=40), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", JSON, nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.CheckConstraint("amount_micros > 0", name=op.f("ck_reservations_amount_positive")),
        sa.CheckConstraint(
            "held_micros >= 0 AND held_micros <= amount_micros",
            name=op.f("ck_reservations_held_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_reservations_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_reservations_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_reservations_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    op.create_index(
        "ix_reservations_org_id_status", "reservations", ["org_id", "status"], unique=False
    )
    op.create_index(
        "ix_reservations_open_expiry",
        "reservations",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("ix_reservations_open_expiry", table_name="reservations")
    op.drop_index("ix_reservations_org_id_status", table_name="reservations")
    op.drop_table("reservations")
    with op.batch_alter_table("balances") as batch_op:
        batch_op.drop_column("held_micros")
