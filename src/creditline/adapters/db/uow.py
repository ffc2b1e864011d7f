"""The unit of work: one database transaction and the repositories that share it.

``SqlUnitOfWork`` is the only door to storage a service sees. Leaving the ``with``
block without :meth:`commit` rolls everything back, so a refused request writes
nothing. Database failures that a retry can cure (PostgreSQL serialization failures
and deadlocks, SQLite's busy database) are raised as :class:`TransientStorageError`
so that the caller retries the whole transaction, never half of it. A connection lost
while the ``COMMIT`` was on its way is not one of them: the server may have committed,
so it is raised as :class:`CommitOutcomeUnknown` and retried by no one.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from creditline.domain.errors import CommitOutcomeUnknown, StorageError

from .alerts import AlertRepository, WebhookRepository  # alerts, outgoing webhooks
from .api import ApiKeyRepository, HttpRequestRepository  # the HTTP API: keys, requests
from .billing import (  # billing: packs, purchases, payment records, invoices
    InvoiceRepository,
    PackRepository,
    PaymentRecordRepository,
    PurchaseRepository,
)
from .budgets import BudgetRepository  # budgets inside an organization's pool
from .charging import ChargingRepository  # set-based reads and writes of charging groups
from .engine import BUSY_TIMEOUT_MS, READ_ONLY, WriterQueue, writer_queue
from .grace import GraceRepository  # grace between depletion and lock
from .portal import DashboardRepository, SigningKeyRepository  # the web dashboard
from .quotes import QuoteRepository  # binding quotes
from .raw import commit_lost, first_line
from .reports import ReportRepository  # read-only usage reports
from .repositories import (
    BalanceRepository,
    GrantRepository,
    IdempotencyRepository,
    LedgerRepository,
    OrganizationRepository,
    PlanRepository,
    RateCardRepository,
    ReservationRepository,
    UsageRepository,
)
from .revenue import RevenueRepository  # the revenue report's reads
from .sales import SalesRequestRepository  # contact-sales requests (country gating)
from .subscriptions import SubscriptionRepository
from .topups import TopupRepository  # automatic and recurring top-ups
from .whatif import WhatIfRepository  # what-if pricing's reads

__all__ = ["SqlUnitOfWork", "TransientStorageError", "is_transient"]

# SQLSTATEs worth retrying: serialization_failure, deadlock_detected, lock_not_available.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}


class TransientStorageError(StorageError):
    """A failure that retrying the whole transaction can cure."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientStorageError):
        return True
    if not isinstance(exc, DBAPIError) or isinstance(exc, IntegrityError):
        return False
    if exc.connection_invalidated:  # the server restarted or dropped the connection
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


class SqlUnitOfWork:
    """One transaction on ``engine``; ``read_only`` lets SQLite start it without the write lock."""

    orgs: OrganizationRepository
    balances: BalanceRepository
    grants: GrantRepository
    ledger: LedgerRepository
    idempotency: IdempotencyRepository
    rate_cards: RateCardRepository
    reservations: ReservationRepository
    usage: UsageRepository
    plans: PlanRepository
    subscriptions: SubscriptionRepository
    packs: PackRepository
    purchases: PurchaseRepository
    payments: PaymentRecordRepository
    invoices: InvoiceRepository
    api_keys: ApiKeyRepository
    http_requests: HttpRequestRepository
    reports: ReportRepository
    whatif: WhatIfRepository
    revenue: RevenueRepository

    alerts: AlertRepository
    webhooks: WebhookRepository
    charging: ChargingRepository
    budgets: BudgetRepository
    topups: TopupRepository
    sales: SalesRequestRepository
    quotes: QuoteRepository

    def __init__(self, engine: Engine, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: Connection | None = None
        self._queue: WriterQueue | None = None if read_only else writer_queue(engine)
        self._queued = False

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def __enter__(self) -> Self:
        if self._queue is not None:
            if not self._queue.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
                raise TransientStorageError("the database stayed busy: no write turn came")
            self._queued = True
        try:
            self._open()
        except BaseException:
            self._leave_queue()
            raise
        return self

    def _leave_queue(self) -> None:
        if self._queued and self._queue is not None:
            self._queued = False
            self._queue.release()

    def _open(self) -> None:
        conn = self._engine.connect()
        if self._read_only:
            conn = conn.execution_options(**{READ_ONLY: True})
            if conn.dialect.name == "postgresql":
                # One snapshot for every statement, so a read never sees half a movement.
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            conn.begin()
        except DBAPIError as exc:
            conn.close()
            if is_transient(exc):
                raise TransientStorageError(str(exc.orig)) from exc
            raise
        self._conn = conn
        self.orgs = OrganizationRepository(conn)
        self.balances = BalanceRepository(conn)
        self.grants = GrantRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.rate_cards = RateCardRepository(conn)
        self.reservations = ReservationRepository(conn)
        self.usage = UsageRepository(conn)
        self.plans = PlanRepository(conn)
        self.subscriptions = SubscriptionRepository(conn)
        self.packs = PackRepository(conn)
        self.purchases = PurchaseRepository(conn)
        self.payments = PaymentRecordRepository(conn)
        self.invoices = InvoiceRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.http_requests = HttpRequestRepository(conn)
        self.reports = ReportRepository(conn)
        self.whatif = WhatIfRepository(conn)
        self.revenue = RevenueRepository(conn)
        self.alerts = AlertRepository(conn)
        self.webhooks = WebhookRepository(conn)
        self.signing_keys = SigningKeyRepository(conn)
        self.dashboard = DashboardRepository(conn)
        self.charging = ChargingRepository(conn)
        self.budgets = BudgetRepository(conn)
        self.topups = TopupRepository(conn)
        self.sales = SalesRequestRepository(conn)
        self.quotes = QuoteRepository(conn)
        self.grace = GraceRepository(conn)

    def commit(self) -> None:
        """Commit; a connection lost on the way raises :class:`CommitOutcomeUnknown`
        (PostgreSQL), which nothing retries: it may have committed."""
        assert self._conn is not None, "commit outside the unit of work"
        try:
            self._conn.commit()
        except DBAPIError as exc:
            if self.dialect == "postgresql" and commit_lost(exc):
                raise CommitOutcomeUnknown(first_line(exc)) from exc
            if is_transient(exc):
                raise TransientStorageError(str(exc.orig)) from exc
            raise

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            self._leave_queue()
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        except DBAPIError:
            if exc is None:
                raise
            # The connection broke with the transaction: the error that ended the block
            # is the one to tell (a lost commit must not turn into a retried one).
        finally:
            conn.close()
            self._leave_queue()
        if exc is not None and not isinstance(exc, TransientStorageError) and is_transient(exc):
            raise TransientStorageError(str(exc)) from exc
