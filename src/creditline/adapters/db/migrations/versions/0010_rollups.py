"""usage rollups and daily balances

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Two caches that reports and the overview read instead of the history (see tables.py):
``usage_rollups`` (accepted usage per organization, UTC day, project, operation and
member; no project or member is keyed by '') and ``balance_days`` (the balance's
movements per organization and UTC day). Both are filled here from what is stored
already, with one ``INSERT ... SELECT ... GROUP BY`` each; from then on the services keep
them in the transactions that write usage events and ledger entries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.String(length=40)

# SQLite keeps UTC timestamps as ISO text ("2026-01-05 10:00:00.000000"): the day is its
# first ten characters. PostgreSQL converts the timestamptz to a UTC date.
_DAY = {
    "sqlite": "substr({column}, 1, 10)",
    "postgresql": "CAST(timezone('UTC', {column}) AS date)",
}
_BURN_TYPES = "('consume', 'reserve', 'release', 'void')"
_TOP = 2**63 - 1


def _sum(dialect: str, expression: str) -> str:
    """SUM kept in the 64-bit range as the services keep it (PostgreSQL sums bigints as
    numeric; SQLite's integer sum would refuse an overflow, no real history has one)."""
    if dialect == "postgresql":
        return f"LEAST(GREATEST(SUM({expression}), -{_TOP}), {_TOP})"
    return f"SUM({expression})"


def _backfill(dialect: str) -> None:
    usage_day = _DAY[dialect].format(column="occurred_at")
    op.execute(
        "INSERT INTO usage_rollups "
        "(org_id, day, project_id, operation, member_id, events, cost_micros) "
        f"SELECT org_id, {usage_day}, COALESCE(project_id, ''), operation, "
        f"COALESCE(member_id, ''), COUNT(*), {_sum(dialect, 'cost_micros')} FROM usage_events "
        f"WHERE status = 'accepted' GROUP BY org_id, {usage_day}, COALESCE(project_id, ''), "
        "operation, COALESCE(member_id, '')"
    )
    entry_day = _DAY[dialect].format(column="recorded_at")
    op.execute(
        "INSERT INTO balance_days "
        "(org_id, day, credited_micros, debited_micros, net_micros, burnt_micros, entries) "
        f"SELECT org_id, {entry_day}, "
        f"{_sum(dialect, 'CASE WHEN amount_micros > 0 THEN amount_micros ELSE 0 END')}, "
        f"{_sum(dialect, 'CASE WHEN amount_micros < 0 THEN -amount_micros ELSE 0 END')}, "
        "SUM(amount_micros), "
        f"{_sum(dialect, f'CASE WHEN entry_type IN {_BURN_TYPES} THEN -amount_micros ELSE 0 END')}, "
        f"COUNT(*) FROM ledger_entries GROUP BY org_id, {entry_day}"
    )


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("operation", sa.String(length=200), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "day", "project_id", "operation", "member_id", name=op.f("pk_usage_rollups")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "balance_days",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("credited_micros", sa.BigInteger(), nullable=False),
        sa.Column("debited_micros", sa.BigInteger(), nullable=False),
        sa.Column("net_micros", sa.BigInteger(), nullable=False),
        sa.Column("burnt_micros", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", name=op.f("pk_balance_days")),
        sqlite_with_rowid=False,
    )
    _backfill(op.get_bind().dialect.name)


def downgrade() -> None:
    op.drop_table("balance_days")
    op.drop_table("usage_rollups")
