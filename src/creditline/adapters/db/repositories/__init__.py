"""Repositories: every query creditline runs on the engine's own tables lives here, in
SQLAlchemy Core, one module per aggregate; the raw statements of the hot paths are in
:mod:`.statements`, the rollup upserts they share in :mod:`.rollups`.

Each repository works on the connection of the unit of work that made it, so all
of one money movement's reads and writes share one transaction. Rows are read by
column name, through one decoder per record (``grant_from_row``,
``reservation_from_row``, ...) that every query returning that record uses.
"""

from creditline.services.ports.unit_of_work import HistoryFilter

from .balances import BalanceRepository
from .grants import GrantRepository
from .idempotency import IdempotencyRepository
from .ledger import LedgerRepository
from .organizations import OrganizationRepository
from .plans import PlanRepository
from .rate_cards import RateCardRepository
from .reservations import ReservationRepository
from .usage import UsageRepository

__all__ = [
    "BalanceRepository",
    "GrantRepository",
    "HistoryFilter",
    "IdempotencyRepository",
    "LedgerRepository",
    "OrganizationRepository",
    "RateCardRepository",
    "PlanRepository",
    "ReservationRepository",
    "UsageRepository",
]
