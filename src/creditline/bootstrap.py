"""The embeddable engine: :class:`Creditline` wires the database, the clock and the services.

Open it on a database and call it::

    from creditline import Creditline, credits

    cl = Creditline.open("sqlite:///credits.db")          # or postgresql://host/db
    org = cl.create_org("Acme")
    cl.grant(org.id, credits(100), kind="prepaid")
    cl.spend(org.id, credits("2.5"))
    cl.balance(org.id).available                           # 97_500_000 micro-credits

Every amount is an ``int`` of micro-credits (``credits("2.5") == 2_500_000``).

Credits are never transferable between organizations (A2): there is no operation
that takes credits from one organization and gives them to another, and none will
be added. To move value, an operator refunds or adjusts one organization and grants
the other, two unrelated movements, each with its own cause in its own ledger.

Each call is one transaction; a call that fails on a transient database conflict
(a PostgreSQL serialization failure or deadlock, a busy SQLite file) is retried
whole, so it either happens exactly once or raises.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from creditline.adapters.clock import SystemClock
from creditline.adapters.db.checkpoint import WalCheckpointer
from creditline.adapters.db.engine import make_engine, redact
from creditline.adapters.db.portal import KeySigner
from creditline.adapters.db.repositories import HistoryFilter
from creditline.adapters.db.uow import SqlUnitOfWork, is_transient
from creditline.adapters.group_commit import GroupWriter
from creditline.adapters.notify.addresses import SystemResolver, allow_networks
from creditline.adapters.payments import NoPayments
from creditline.domain.alerts import AlertRule
from creditline.domain.amounts import CostBasis
from creditline.domain.api_keys import ApiKey, IdempotentRequest, IssuedKey, Role
from creditline.domain.balances import Balance
from creditline.domain.countries import SelfServeCountries, parse_self_serve_countries
from creditline.domain.deliveries import Delivery, DeliveryStatus, WebhookEndpoint
from creditline.domain.errors import (
    AlreadyExists,
    ApiKeyNotFound,
    ConfigurationError,
    CreditlineError,
    InvalidAmount,
    InvalidGrant,
    InvalidSetting,
    InvoiceNotFound,
    OrganizationNotFound,
    PlanNotFound,
    PurchaseNotFound,
    ReservationNotFound,
    StorageError,
    UsageEventNotFound,
)
from creditline.domain.grants import (
    DEFAULT_CONSUMPTION_ORDER,
    Grant,
    GrantKind,
    GrantSource,
    SourceType,
)
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Invoice,
    InvoiceItem,
    InvoiceStatus,
    parse_month,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, LedgerEntry
from creditline.domain.organizations import Member, Organization, Project
from creditline.domain.overview import Overview
from creditline.domain.packs import Catalogue, load_catalogue
from creditline.domain.plans import DepletionPolicy, Plan, load_plans, parse_plan
from creditline.domain.portal import DEFAULT_TTL_SECONDS, PortalSession
from creditline.domain.pricing import Quantity, Quote, RateCard, RateCardHistory, Step
from creditline.domain.purchases import Purchase, Receipt
from creditline.domain.reports import UsageReport
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.sales import SalesRequest, SalesRequestSource
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.time import Clock
from creditline.domain.topups import AutoTopup, RecurringTopup
from creditline.domain.usage import EventResult, Metering, StoredUsage, UsageEvent, UsageStep
from creditline.domain.webhook_urls import Resolver, UrlPolicy
from creditline.services import alerts as alerting
from creditline.services import api_keys as keys
from creditline.services import (
    charging,
    cycles,
    expiry,
    http_requests,
    purchases,
    queries,
    ratecards,
    reports,
    sales,
    scheduler,
    topups,
    usage,
    webhooks,
)
from creditline.services import deliveries as outbox
from creditline.services import invoices as invoicing
from creditline.services import overview as overviews
from creditline.services import portal as web
from creditline.services.grants import GrantCredits, check_plan_scopes, grant_credits
from creditline.services.key_cache import KeyCache
from creditline.services.organizations import (
    AddMember,
    CreateOrganization,
    CreateProject,
    UpdateOrganization,
    add_member,
    create_organization,
    create_project,
    update_organization,
)
from creditline.services.payments import PaymentProvider, ReceiptSender
from creditline.services.purchases import CANCEL_URL, SUCCESS_URL
from creditline.services.queries import VerifyReport
from creditline.services.reservations import Reserve, Settle, Settlement
from creditline.services.spending import Debit, DebitResult, SpendCredits
from creditline.services.unit_of_work import UnitOfWork
from creditline.services.usage import AmendEvent, CreditBack, RecordUsage

__all__ = [
    "ANSWER_BEFORE_COMMIT_ENV",
    "Creditline",
    "ExpiryReport",
    "RenewalReport",
    "WriteCommand",
]

T = TypeVar("T")

ANSWER_BEFORE_COMMIT_ENV = "CREDITLINE_TEST_ANSWER_BEFORE_COMMIT"
"""Set to ``1`` by the crash tests only: the writer answers before its commit (broken)."""

_WRITER_LOCK = threading.Lock()

WriteCommand = RecordUsage | Reserve | Settle | SpendCredits
"""A command that moves credits, for :meth:`Creditline.submit`."""


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """What one ``expire_due`` run expired: per organization, in micro-credits."""

    organizations: tuple[expiry.Expired, ...]

    @property
    def grants(self) -> int:
        return sum(e.grants for e in self.organizations)

    @property
    def reservations(self) -> int:
        return sum(e.reservations for e in self.organizations)

    @property
    def amount(self) -> int:
        return sum(e.amount for e in self.organizations)


@dataclass(frozen=True, slots=True)
class RenewalReport:
    """What one ``renew_due`` run granted, per organization renewed, and the
    organizations whose renewal failed (each with its error; retried next run)."""

    organizations: tuple[cycles.Renewed, ...]
    failed: tuple[tuple[str, CreditlineError], ...] = ()

    @property
    def cycles(self) -> int:
        return sum(r.cycles for r in self.organizations)

    @property
    def grants(self) -> int:
        return sum(r.grants for r in self.organizations)

    @property
    def amount(self) -> int:
        return sum(r.amount for r in self.organizations)


SELF_SERVE_COUNTRIES_ENV = "CREDITLINE_SELF_SERVE_COUNTRIES"
"""The countries where credits can be bought self-serve (``US,CA``; unset: everywhere)."""
SALES_EMAIL_ENV = "CREDITLINE_SALES_EMAIL"
"""Where contact-sales requests are e-mailed (unset: not e-mailed)."""


def _sales_email(value: str | None) -> str | None:
    """The sales address, checked (blank: none).

    Raises:
        InvalidSetting: not an e-mail address.
    """
    text = (value or "").strip()
    if not text:
        return None
    if "@" not in text or len(text) > 320 or any(c.isspace() for c in text):
        raise InvalidSetting("sales e-mail", text, "not an e-mail address")
    return text


def _source(value: str) -> SalesRequestSource:
    try:
        return SalesRequestSource(value)
    except ValueError:
        raise InvalidSetting("source", value, "portal or api") from None


def _scope(
    value: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
) -> GrantScope | None:
    """A grant's scope from its document form; a bad one is an :class:`InvalidGrant`."""
    if value is None or isinstance(value, GrantScope):
        return value
    try:
        return parse_scope(value)
    except InvalidSetting as exc:
        raise InvalidGrant(exc.reason.split("; ")) from None


def _kind(value: GrantKind | str) -> GrantKind:
    try:
        return GrantKind(value)
    except ValueError:
        raise InvalidSetting("grant kind", value, f"one of {GrantKind.names()}") from None


class Creditline:
    """The credits engine on one database. Thread-safe; open one per process."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock | None = None,
        max_attempts: int = 30,
        *,
        payments: PaymentProvider | None = None,
        mailer: ReceiptSender | None = None,
        webhook_sender: outbox.WebhookSender | None = None,
        alert_mailer: outbox.AlertMailer | None = None,
        webhook_allow_networks: str | Sequence[str] | None = None,
        webhook_resolver: Resolver | None = None,
        background_topups: bool = True,
        self_serve_countries: str | Sequence[str] | None = None,
        sales_email: str | None = None,
    ) -> None:
        # Country gating (D8): where credits can be bought self-serve (None:
        # CREDITLINE_SELF_SERVE_COUNTRIES; unset: everywhere), and where contact-sales
        # requests are e-mailed (None: CREDITLINE_SALES_EMAIL; unset: not e-mailed).
        self._self_serve = parse_self_serve_countries(
            os.environ.get(SELF_SERVE_COUNTRIES_ENV)
            if self_serve_countries is None
            else self_serve_countries
        )
        self._sales_email = _sales_email(
            os.environ.get(SALES_EMAIL_ENV) if sales_email is None else sales_email
        )
        self._engine = engine
        self.clock: Clock = clock or SystemClock()
        self._max_attempts = max_attempts
        self._checkpointer = (
            WalCheckpointer(engine).start() if engine.dialect.name == "sqlite" else None
        )
        # Run by tick() after the renewals and the expiry (add_tick_job).
        self._tick_jobs: list[tuple[str, scheduler.TickJob]] = []
        # Billing: the payment provider (none: operator grants only) and the receipt mailer.
        self.payments: PaymentProvider = payments or NoPayments()
        self._mailer = mailer
        self.add_tick_job("monthly_invoices", self._invoices_job)
        self.add_tick_job("payment_retries", self._payment_retries_job)
        # Automatic top-ups claimed by charging groups are charged on a thread of their own
        # (background_topups), or by the next tick / run_topups() (False: tests, scripts).
        self._background_topups = background_topups
        self._topups = topups.TopupRunner(self._charge_claimed, "creditline-topups")
        self.add_tick_job("topups", self._topups_job)
        # Alerts (E2): the webhook sender (default: httpx, made when first needed) and the
        # alert mailer (default: the receipt mailer, when it can send alerts).
        # Webhook URLs reach public addresses only, beyond the networks allowed here
        # (None: CREDITLINE_WEBHOOK_ALLOW_NETWORKS; unset: none); see domain.webhook_urls.
        self._webhook_sender = webhook_sender
        self._url_policy = UrlPolicy(allow_networks(webhook_allow_networks))
        self._resolver: Resolver = webhook_resolver or SystemResolver()
        self._alert_mailer = alert_mailer or (
            mailer if isinstance(mailer, outbox.AlertMailer) else None
        )
        self.add_tick_job("alerts", self._alerts_job)
        self.add_tick_job("webhooks", self._webhooks_job)
        # The web dashboard's reads and the signer of its links and cookies.
        self.dashboard = web.Dashboard(self._tx, self.clock, KeySigner)
        # Group commit (services/charging.py): made when the first command moves credits.
        self._writer: GroupWriter[WriteCommand] | None = None
        self._answer_early = os.environ.get(ANSWER_BEFORE_COMMIT_ENV) == "1"
        # API keys checked in memory for up to a second (services/key_cache.py).
        self._keys = KeyCache(self._check_key, self._touch_key, self.clock)

    @classmethod
    def open(
        cls,
        url: str | Path,
        clock: Clock | None = None,
        migrate: bool = True,
        *,
        payments: PaymentProvider | None = None,
        mailer: ReceiptSender | None = None,
        webhook_sender: outbox.WebhookSender | None = None,
        alert_mailer: outbox.AlertMailer | None = None,
        webhook_allow_networks: str | Sequence[str] | None = None,
        webhook_resolver: Resolver | None = None,
        background_topups: bool = True,
        self_serve_countries: str | Sequence[str] | None = None,
        sales_email: str | None = None,
    ) -> Creditline:
        """Open the engine on a database URL (``sqlite:///file.db``, ``postgresql://...``)
        or a plain file path (SQLite). With ``migrate`` the schema is brought up to date.
        ``payments`` is the payment provider credits are bought through (default: none,
        operator grants only) and ``mailer`` sends receipts (default: none).
        ``background_topups`` (default) charges automatic top-ups on a thread of the
        engine's as soon as a crossing claims one; ``False`` leaves them to
        :meth:`run_topups` and the scheduler's tick. ``webhook_allow_networks`` names
        networks (CIDR text, ``"127.0.0.0/8,::1/128"``, or a sequence) webhooks may
        reach beyond public addresses (default ``None``:
        ``CREDITLINE_WEBHOOK_ALLOW_NETWORKS``, unset: none; ``()``: none whatever the
        environment says); ``webhook_resolver`` resolves their names (default: the
        system's resolver). ``self_serve_countries`` lists the countries where credits
        can be bought self-serve (``"US,CA"`` or a sequence of ISO 3166-1 alpha-2 codes;
        default ``None``: ``CREDITLINE_SELF_SERVE_COUNTRIES``, unset or ``"*"``:
        everywhere; see :mod:`creditline.domain.countries`); ``sales_email`` is where
        contact-sales requests are e-mailed (default ``None``:
        ``CREDITLINE_SALES_EMAIL``; unset: not e-mailed).

        Raises:
            InvalidDatabaseUrl: the URL is malformed or names an unsupported database.
            ConfigurationError: the database cannot be reached.
            SchemaOutOfDate: ``migrate=False`` and the schema is behind the code.
        """
        # Alembic is imported only here: it is most of the start-up time of a CLI call.
        from creditline.adapters.db.migrate import ensure_current, upgrade

        engine = make_engine(url)
        try:
            if migrate:
                upgrade(engine)
            else:
                ensure_current(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise ConfigurationError(
                f"cannot open {redact(str(url))}: {str(exc.orig).strip().splitlines()[0]}"
            ) from exc
        except CreditlineError:
            engine.dispose()
            raise
        try:
            return cls(
                engine, clock, payments=payments, mailer=mailer, webhook_sender=webhook_sender,
                alert_mailer=alert_mailer, webhook_allow_networks=webhook_allow_networks,
                webhook_resolver=webhook_resolver, background_topups=background_topups,
                self_serve_countries=self_serve_countries, sales_email=sales_email,
            )  # fmt: skip
        except CreditlineError:
            engine.dispose()
            raise

    def close(self) -> None:
        """Close the engine: the writer's queue is answered and the top-ups claimed in
        this process are charged first."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._topups.drain()
        self._topups.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._keys.close()
        self._engine.dispose()

    def __enter__(self) -> Creditline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    # -- plumbing -------------------------------------------------------------------------

    def _uow(self, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, read_only=read_only)

    def _run(self, call: Callable[[], T]) -> T:
        """Run one transaction, retrying it whole on transient conflicts."""
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(multiplier=0.002, max=0.25),
            reraise=True,
        )
        try:
            return retrying(call)
        except DBAPIError as exc:
            raise StorageError(str(exc.orig).strip().splitlines()[0]) from exc

    def _tx(self, work: Callable[[SqlUnitOfWork], T], *, read_only: bool = False) -> T:
        """Run ``work`` in one unit of work, retried whole on transient conflicts (the
        ``Transactions`` the billing services take)."""

        def call() -> T:
            with self._uow(read_only=read_only) as uow:
                return work(uow)

        return self._run(call)

    def submit(self, command: WriteCommand) -> Future[Any]:
        """Queue a command that moves credits; the future is answered once it is durable.

        The result is what the matching call returns (``list[EventResult]`` for
        :class:`RecordUsage`, a :class:`Reservation` for :class:`Reserve`, a
        :class:`Settlement` for :class:`Settle`, ``list[DebitResult]`` for
        :class:`SpendCredits`), or the call's exception. The HTTP API awaits it with
        ``asyncio.wrap_future``, so no request thread waits on the database.

        Commands of concurrent callers (this method, and the synchronous calls that
        move credits: ``record``, ``record_usage``, ``reserve``, ``commit``,
        ``release``, ``spend``, ``spend_many``, a negative ``adjust``) are applied by
        one writer thread in arrival order, many in one transaction and one commit
        (group commit); each is answered only after that commit.
        """
        writer = self._writer
        if writer is None or writer.pid != os.getpid():  # none yet, or a forked child
            writer = self._start_writer()
        return writer.submit(command)

    def _start_writer(self) -> GroupWriter[WriteCommand]:
        with _WRITER_LOCK:
            if self._writer is None or self._writer.pid != os.getpid():
                self._writer = GroupWriter(
                    self._apply_group,
                    weight=charging.weight,
                    name=f"creditline-writer-{self.dialect}",
                    answer_before_commit=self._answer_early,
                )
            return self._writer

    def _apply_group(
        self,
        commands: Sequence[WriteCommand],
        before_commit: Callable[[Sequence[charging.Answer]], None] | None = None,
    ) -> list[charging.Answer]:
        """Apply a group in one transaction, retried whole on transient conflicts; then
        hand the automatic top-ups it claimed to the top-up runner."""
        claimed: list[Purchase] = []
        provider = self.payments.name if self.payments.enabled else None

        def call() -> list[charging.Answer]:
            claimed.clear()  # a retried transaction claims anew
            return charging.apply_group(
                commands, self._uow(), self.clock, before_commit=before_commit,
                provider=provider, claimed=claimed,
            )  # fmt: skip

        answers = self._run(call)
        if claimed and self._background_topups:
            self._topups.submit(claimed)
        return answers

    def _write(self, command: WriteCommand) -> Any:
        """Submit a command and wait for its answer (raising its error)."""
        return self.submit(command).result()

    def _find(self, read: Callable[[UnitOfWork], T | None], missing: CreditlineError) -> T:
        """What ``read`` finds in a read-only transaction, or raise ``missing``."""
        found = self._tx(read, read_only=True)
        if found is None:
            raise missing
        return found

    # -- organizations ----------------------------------------------------------------

    def create_org(
        self,
        name: str,
        external_ref: str | None = None,
        consumption_order: str | Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        country: str | None = None,
    ) -> Organization:
        """Create an organization with a zero balance; ``country`` (an ISO 3166-1 alpha-2
        code) decides whether it can buy credits self-serve (:meth:`self_serve`)."""
        order: str | list[str] | tuple[GrantKind, ...] = DEFAULT_CONSUMPTION_ORDER
        if isinstance(consumption_order, str):
            order = consumption_order
        elif consumption_order is not None:
            order = list(consumption_order)
        cmd = CreateOrganization(name, external_ref, order, metadata or {}, country)
        return self._run(lambda: create_organization(cmd, self._uow(), self.clock))

    def update_org(
        self,
        org_id: str,
        *,
        name: str | None = None,
        country: str | None = None,
        clear_country: bool = False,
    ) -> Organization:
        """Change an organization's name or country (``None``: unchanged;
        ``clear_country``: no country any more).

        Raises:
            InvalidSetting: a bad name or country code. OrganizationNotFound.
        """
        cmd = UpdateOrganization(org_id, name, country, clear_country)
        return self._run(lambda: update_organization(cmd, self._uow()))

    def get_org(self, org_id: str) -> Organization:
        return self._find(lambda uow: uow.orgs.get(org_id), OrganizationNotFound(org_id))

    def resolve_orgs(self, refs: Iterable[str]) -> dict[str, str]:
        """The organizations that ``refs`` name, each by its id or else by its
        ``external_ref`` (a producer's own customer key): ``{ref: org_id}``, leaving out
        the refs that name none."""
        wanted = set(refs)

        def read(uow: UnitOfWork) -> dict[str, str]:
            found = {}
            for ref in wanted:
                org = uow.orgs.get(ref) or uow.orgs.get_by_external_ref(ref)
                if org is not None:
                    found[ref] = org.id
            return found

        return self._tx(read, read_only=True) if wanted else {}

    def list_orgs(self, limit: int = 100, after_id: str | None = None) -> list[Organization]:
        def call() -> list[Organization]:
            with self._uow(read_only=True) as uow:
                return uow.orgs.page(limit, after_id)

        return self._run(call)

    def create_project(self, org_id: str, name: str) -> Project:
        cmd = CreateProject(org_id, name)
        return self._run(lambda: create_project(cmd, self._uow(), self.clock))

    def add_member(self, org_id: str, name: str, email: str | None = None) -> Member:
        cmd = AddMember(org_id, name, email)
        return self._run(lambda: add_member(cmd, self._uow(), self.clock))

    def projects(self, org_id: str) -> list[Project]:
        self.get_org(org_id)
        with self._uow(read_only=True) as uow:
            return uow.orgs.projects(org_id)

    def members(self, org_id: str) -> list[Member]:
        self.get_org(org_id)
        with self._uow(read_only=True) as uow:
            return uow.orgs.members(org_id)

    # -- money movements --------------------------------------------------------------

    def grant(
        self,
        org_id: str,
        amount: int,
        kind: GrantKind | str = GrantKind.PREPAID,
        *,
        expires_at: datetime | None = None,
        effective_at: datetime | None = None,
        source: GrantSource | None = None,
        cost_basis: CostBasis | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        scope: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    ) -> Grant:
        """Grant ``amount`` micro-credits to an organization as a new lot (B1).

        ``scope`` makes it a scoped grant (B7): it pays only for what the scope covers,
        given as a :class:`~creditline.domain.scopes.GrantScope` or in document form
        (``[{"operation": "train", "dimensions": {"mode": "any"}}]``), checked against
        the organization's rate card (an unknown operation raises :class:`InvalidGrant`).
        """
        cmd = GrantCredits(
            org_id=org_id,
            amount=amount,
            kind=_kind(kind),
            source=source or GrantSource(SourceType.OPERATOR, "manual"),
            effective_at=effective_at,
            expires_at=expires_at,
            cost_basis=cost_basis,
            metadata=metadata or {},
            idempotency_key=idempotency_key,
            scope=_scope(scope),
        )
        return self._run(lambda: grant_credits(cmd, self._uow(), self.clock))

    def spend(
        self,
        org_id: str,
        amount: int,
        *,
        cause: Cause | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
    ) -> DebitResult:
        """Spend ``amount`` micro-credits, drawn from grants in the consumption order (B2).

        ``operation`` (and ``dimensions``) say what the credits pay for: the scoped
        grants covering it pay first (B7); without one only general grants pay.

        Raises:
            InsufficientCredits: the spendable grants cannot cover it; nothing was written.
            ValidationError, NotFound, IdempotencyKeyReused: bad input; nothing was written.
        """
        debit = Debit(
            amount, cause, project_id, member_id, idempotency_key, metadata, operation,
            None if dimensions is None else dict(dimensions),
        )  # fmt: skip
        (result,) = self.spend_many(org_id, [debit])
        if result.error is not None:
            raise result.error
        return result

    def spend_many(self, org_id: str, debits: Sequence[Debit]) -> list[DebitResult]:
        """Spend many debits in one transaction; each gets its own result, in order."""
        return self._write(SpendCredits(org_id, list(debits)))  # type: ignore[no-any-return]

    def adjust(
        self, org_id: str, amount: int, reason: str, *, idempotency_key: str | None = None
    ) -> Grant | DebitResult:
        """An operator's correction: ``amount`` > 0 grants an ``adjustment`` lot,
        ``amount`` < 0 takes credits with ``adjustment`` entries. ``reason`` is the cause."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise InvalidAmount(amount, "an adjustment is a non-zero integer of micro-credits")
        cause = Cause(CauseType.OPERATOR, reason)
        if amount > 0:
            return self.grant(
                org_id,
                amount,
                GrantKind.ADJUSTMENT,
                source=GrantSource(SourceType.OPERATOR, reason),
                idempotency_key=idempotency_key,
            )
        cmd = SpendCredits(
            org_id,
            [Debit(-amount, cause, idempotency_key=idempotency_key)],
            EntryType.ADJUSTMENT,
        )
        result: DebitResult = self._write(cmd)[0]
        if result.error is not None:
            raise result.error
        return result

    def expire_due(self, limit: int = 1000) -> ExpiryReport:
        """Write an expire entry for every grant past its expiry with credits left.

        Idempotent: a second run, or a run in another process at the same time,
        expires nothing twice.
        """
        now = self.clock.now()
        done: list[expiry.Expired] = []
        while True:
            due = self._run(lambda: expiry.due_organizations(self._uow(read_only=True), now, limit))
            batch = [self._expire_org(org_id) for org_id in due]
            done.extend(e for e in batch if e.changed)
            if len(due) < limit or not any(e.changed for e in batch):
                return ExpiryReport(tuple(done))

    def _expire_org(self, org_id: str) -> expiry.Expired:
        return self._run(lambda: expiry.expire_organization(org_id, self._uow(), self.clock))

    # -- reservations (two-phase holds, C6) -----------------------------------------

    def reserve(
        self,
        org_id: str,
        amount: int,
        *,
        ttl: timedelta = timedelta(hours=1),
        cause: Cause | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
    ) -> Reservation:
        """Hold ``amount`` micro-credits for a running operation (released after ``ttl``).

        ``operation`` (and ``dimensions``) say what the hold is for: the scoped grants
        covering it are held first, and pay first for a commit beyond the hold (B7).

        Raises:
            InsufficientCredits: the spendable grants cannot cover the hold; nothing written.
        """
        cmd = Reserve(
            org_id, amount, ttl, cause, project_id, member_id, idempotency_key, metadata or {},
            operation, None if dimensions is None else dict(dimensions),
        )  # fmt: skip
        return self._write(cmd)  # type: ignore[no-any-return]

    def commit(
        self, org_id: str, reservation_id: str, amount: int, *, final: bool = True
    ) -> Settlement:
        """Charge the actual cost of a held operation: from the hold first, then from
        the spendable grants; ``final=False`` commits one step and keeps the rest held."""
        return self._write(Settle(org_id, reservation_id, amount, final))  # type: ignore[no-any-return]

    def release(self, org_id: str, reservation_id: str) -> Settlement:
        """Give the whole hold back (the operation failed through a system error)."""
        return self._write(Settle(org_id, reservation_id, None))  # type: ignore[no-any-return]

    def reservation(self, org_id: str, reservation_id: str) -> Reservation:
        found = self._find(
            lambda uow: uow.reservations.get(org_id, reservation_id),
            ReservationNotFound(reservation_id),
        )
        return found[0]

    def reservations(
        self, org_id: str, status: ReservationStatus | str | None = None, limit: int = 100
    ) -> list[Reservation]:
        self.get_org(org_id)
        state = None if status is None else ReservationStatus(status).value

        def call() -> list[Reservation]:
            with self._uow(read_only=True) as uow:
                return uow.reservations.of_org(org_id, state, limit)

        return self._run(call)

    # -- usage (metering, C1) ---------------------------------------------------------

    def record_usage(self, events: Sequence[UsageEvent]) -> list[EventResult]:
        """Price, gate and charge a batch of events in one transaction; a result per event.

        Each event is accepted, refused (by the plan's gates or the depletion policy;
        stored, so a retry gets the same answer), rejected (bad input; nothing stored)
        or a duplicate of an event id already recorded (the first outcome).
        """
        return self._write(RecordUsage(list(events)))  # type: ignore[no-any-return]

    def record(
        self,
        org_id: str,
        event_id: str,
        operation: str,
        quantities: Mapping[str, Any] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        occurred_at: datetime | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        steps: Sequence[UsageStep] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> EventResult:
        """Record one usage event (see :meth:`record_usage`). Without ``occurred_at`` the
        event is stamped with the time it is first received, and recording it again
        without a time is a duplicate (the first outcome), not a reused id."""
        event = UsageEvent(
            event_id, org_id, operation, occurred_at, dict(quantities or {}),
            dict(dimensions or {}), project_id, member_id, None, tuple(steps),
            dict(metadata or {}),
        )  # fmt: skip
        (result,) = self.record_usage([event])
        return result

    def void_event(self, org_id: str, event_id: str) -> StoredUsage:
        """Cancel an event: its credits go back to the grants that paid, expiry unchanged."""
        return self._run(lambda: usage.void_event(org_id, event_id, self._uow(), self.clock))

    def amend_event(
        self,
        org_id: str,
        event_id: str,
        quantities: Mapping[str, Any],
        dimensions: Mapping[str, str] | None = None,
    ) -> StoredUsage:
        """Re-price an event with corrected usage at its own time; charge or give back the
        difference."""
        cmd = AmendEvent(org_id, event_id, dict(quantities), None if dimensions is None
                         else dict(dimensions))  # fmt: skip
        return self._run(lambda: usage.amend_event(cmd, self._uow(), self.clock))

    def credit_back(
        self, org_id: str, event_id: str, reason: str = "acceptance criteria not met"
    ) -> Grant:
        """Credit back an accepted event's fee (seed 003: a training run whose acceptance
        criteria were not met): a new general ``refund`` grant of the event's cost, its
        ``grant`` entry caused by the event (``usage_event:<id>``). The event stays
        accepted. At most once per event: a second call answers the first grant.

        Raises:
            UsageEventNotFound: no such event; InvalidUsage: not accepted, or free.
        """
        cmd = CreditBack(org_id, event_id, reason)
        return self._run(lambda: usage.credit_back_event(cmd, self._uow(), self.clock))

    def usage_event(self, org_id: str, event_id: str) -> StoredUsage:
        return self._find(lambda uow: uow.usage.get(org_id, event_id), UsageEventNotFound(event_id))

    def usage_events(self, org_id: str, limit: int = 100) -> list[StoredUsage]:
        self.get_org(org_id)

        def call() -> list[StoredUsage]:
            with self._uow(read_only=True) as uow:
                return uow.usage.of_org(org_id, limit)

        return self._run(call)

    # -- plans (gates and depletion, C4, A3, A4, D6) ------------------------------------

    def put_plan(self, plan: Plan | Mapping[str, Any]) -> Plan:
        """Store a plan (a :class:`Plan` or its document form), replacing one of its name."""
        stored = plan if isinstance(plan, Plan) else parse_plan(plan)

        def call() -> Plan:
            with self._uow() as uow:
                check_plan_scopes(uow, [stored])
                uow.plans.put(stored, self.clock.now())
                uow.commit()
            return stored

        return self._run(call)

    def load_plans(self, text: str | bytes) -> list[Plan]:
        """Store every plan of a TOML document of ``[[plans]]`` tables (a platform's
        ``plans.toml``) in one transaction, each replacing one of its name.

        Raises:
            InvalidSetting: listing every problem of every plan; nothing is stored.
        """
        plans = load_plans(text)

        def call() -> list[Plan]:
            with self._uow() as uow:
                check_plan_scopes(uow, plans)
                now = self.clock.now()
                for plan in plans:
                    uow.plans.put(plan, now)
                uow.commit()
            return plans

        return self._run(call)

    def plan(self, name: str) -> Plan:
        return self._find(lambda uow: uow.plans.get(name), PlanNotFound(name))

    def assign_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> Metering:
        """Put an organization on a plan, optionally with its own depletion policy and
        flex switch (``None``: the plan's).

        With ``subscribe`` the plan's billing starts too (:meth:`subscribe`). An
        organization already subscribed follows its plan either way: another plan is a
        plan change (B5), ``None`` ends the subscription.
        """
        return self.change_plan(
            org_id,
            plan,
            depletion=depletion,
            flex_enabled=flex_enabled,
            subscribe=subscribe,
            currency=currency,
        ).metering

    def change_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> cycles.PlanAssigned:
        """:meth:`assign_plan`, answering with what it did to the billing too: the
        subscription started, changed, ended or left as it was, the cycles renewed, the
        included credits reset (see :meth:`subscribe`)."""
        policy = None if depletion is None else DepletionPolicy(depletion)
        cmd = cycles.AssignPlan(org_id, plan, policy, flex_enabled, subscribe, currency)
        return self._run(lambda: cycles.assign_plan(cmd, self._uow(), self.clock))

    def metering(self, org_id: str) -> Metering:
        """The organization's rate card, plan, depletion policy and flex switch in force."""

        return self._find(
            lambda uow: uow.usage.metering([org_id]).get(org_id), OrganizationNotFound(org_id)
        )

    def is_read_only(self, org_id: str) -> bool:
        """Whether the platform should lock the organization's writes: its policy is
        ``read_only`` and it has nothing left to spend (A3), or it is suspended for an
        overdue invoice under a ``read_only`` dunning policy."""
        metering = self.metering(org_id)
        if metering.depletion is not DepletionPolicy.READ_ONLY:
            return False
        return metering.hold is not None or self.balance(org_id).available == 0

    def create_plan(self, plan: Plan | Mapping[str, Any], *, replace: bool = False) -> Plan:
        """Store a new plan (a :class:`Plan` or its document form).

        Raises:
            InvalidSetting: listing every problem of the document.
            AlreadyExists: a plan of that name is stored and ``replace`` is false.
        """
        stored = plan if isinstance(plan, Plan) else parse_plan(plan)

        def call() -> Plan:
            with self._uow() as uow:
                if not replace and uow.plans.get(stored.name) is not None:
                    raise AlreadyExists("plan", stored.name)
                check_plan_scopes(uow, [stored])
                uow.plans.put(stored, self.clock.now())
                uow.commit()
            return stored

        return self._run(call)

    # -- billing cycles and the scheduler (B4, B5, F1, F2) ------------------------------

    def subscribe(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        currency: str | None = None,
    ) -> cycles.PlanAssigned:
        """Put an organization on a plan and start its billing, in one transaction.

        A new subscription is granted the plan's sign-up grant (or its first cycle
        grant) at once, and every later cycle's grant by :meth:`renew_due`. Already
        subscribed to another plan: a plan change (B5), the cycle restarts now, what is
        left of the old plan's cycle-bound included credits is expired (cause
        ``plan_cycle``) and the new plan's cycle grant is granted. The same plan: only
        the settings change. ``None``: the subscription ends (credits stay until their
        own expiry).

        A plan with a ``fee`` bills every cycle on the monthly invoice, in ``currency``
        (one the plan is priced in; unsaid: the one it was billed in, or the plan's only
        one); a change or end mid-cycle applies the old plan's ``on_change`` (a prorated
        credit line, or none).

        Raises:
            OrganizationNotFound, PlanNotFound: nothing was changed.
            InvalidSetting: a currency the plan is not priced in (or none named among
                several).
        """
        return self.change_plan(
            org_id,
            plan,
            depletion=depletion,
            flex_enabled=flex_enabled,
            subscribe=True,
            currency=currency,
        )

    def subscription(self, org_id: str) -> cycles.SubscriptionStatus | None:
        """The organization's subscription and the cycle running now, or ``None``.

        Raises:
            OrganizationNotFound: no such organization.
        """
        return self._run(
            lambda: cycles.subscription_status(org_id, self._uow(read_only=True), self.clock)
        )

    def renew_due(self, limit: int = 1000) -> RenewalReport:
        """Grant every due cycle of every subscription, in order, each exactly once.

        Organizations are read ``limit`` at a time and each is renewed in its own
        transaction; one whose renewal fails is reported and retried by the next run.
        Safe to run from several processes at once.
        """
        now = self.clock.now()
        done: list[cycles.Renewed] = []
        failed: list[tuple[str, CreditlineError]] = []
        after: str | None = None

        def page(after: str | None) -> list[str]:
            return self._run(
                lambda: cycles.due_subscriptions(self._uow(read_only=True), now, limit, after)
            )

        while True:
            due = page(after)
            for org_id in due:
                try:
                    renewed = self._renew_org(org_id)
                except CreditlineError as exc:
                    failed.append((org_id, exc))
                    continue
                if renewed.cycles:
                    done.append(renewed)
            if len(due) < limit:
                return RenewalReport(tuple(done), tuple(failed))
            after = due[-1]

    def _renew_org(self, org_id: str) -> cycles.Renewed:
        return self._run(lambda: cycles.renew_subscription(org_id, self._uow(), self.clock))

    def add_tick_job(self, name: str, job: scheduler.TickJob) -> None:
        """Run ``job`` on every :meth:`tick`, after the renewals, the expiry and the jobs
        added before it. ``job(now)`` does what is due at ``now``, exactly once however
        often it runs, and returns a JSON-able summary for the tick's report.

        Raises:
            InvalidSetting: a name already taken (``renewals`` and ``expiry`` are).
        """
        taken = {"renewals", "expiry", *(n for n, _ in self._tick_jobs)}
        if not isinstance(name, str) or not name.strip() or name in taken:
            raise InvalidSetting("tick job", name, f"a new name, not one of {sorted(taken)}")
        self._tick_jobs.append((name, job))

    def tick(self) -> scheduler.TickReport:
        """Run the time-driven work once, in order: cycle renewals, then expiry (which
        also releases overdue reservations), then the jobs added by :meth:`add_tick_job`.
        After any downtime one tick catches up every missed cycle and expiry."""
        jobs: list[tuple[str, scheduler.TickJob]] = [
            ("renewals", self._renewals_job),
            ("expiry", self._expiry_job),
            *self._tick_jobs,
        ]
        return scheduler.run_jobs(jobs, self.clock.now())

    def _renewals_job(self, now: datetime) -> scheduler.JobOutcome:
        report = self.renew_due()
        summary = {
            "organizations": len(report.organizations),
            "cycles": report.cycles,
            "grants": report.grants,
            "amount_micros": report.amount,
            "failed": [{"org_id": org, "error": str(exc)} for org, exc in report.failed],
        }
        return scheduler.JobOutcome(summary, tuple(exc for _, exc in report.failed))

    def _expiry_job(self, now: datetime) -> dict[str, Any]:
        report = self.expire_due()
        return {
            "organizations": len(report.organizations),
            "grants": report.grants,
            "amount_micros": report.amount,
            "reservations": report.reservations,
        }

    # -- reading ----------------------------------------------------------------------

    def balance(self, org_id: str) -> Balance:
        """The organization's balance now, in O(1) of its history."""
        return self._run(lambda: queries.balance(org_id, self._uow(read_only=True), self.clock))

    def grants(self, org_id: str, include_spent: bool = True) -> list[Grant]:
        return self._run(lambda: queries.grants(org_id, self._uow(read_only=True), include_spent))

    def history(
        self,
        org_id: str,
        limit: int = 50,
        *,
        before_id: int | None = None,
        types: Sequence[EntryType | str] = (),
        grant_id: str | None = None,
        cause: Cause | None = None,
    ) -> list[LedgerEntry]:
        """Ledger entries, newest first; pass the last id seen as ``before_id`` to page on."""
        if not 1 <= limit <= 10_000:
            raise InvalidSetting("limit", limit, "must be between 1 and 10000")
        try:
            where = HistoryFilter(tuple(EntryType(t) for t in types), grant_id, cause)
        except ValueError as exc:
            raise InvalidSetting("entry type", types, str(exc)) from None
        return self._run(
            lambda: queries.history(org_id, self._uow(read_only=True), limit, before_id, where)
        )

    def verify(self) -> VerifyReport:
        """Recompute every grant's remaining and every balance from the ledger entries."""
        return self._run(lambda: queries.verify(self._uow(read_only=True)))

    # -- rate cards and quotes --------------------------------------------------------

    def load_rate_card(
        self,
        source: str | bytes | Mapping[str, Any] | RateCard,
        syntax: Literal["toml", "json"] = "toml",
    ) -> RateCard:
        """Load one rate card version (C2, C3) and return it as stored.

        ``source`` is a TOML or JSON document (text or bytes; ``syntax`` says which), the
        document as a mapping, or a :class:`RateCard` built in code. Loading the same
        version again is a no-op when it is identical; a version that is not the card's
        first takes effect now or later, so past usage keeps its price.

        Raises:
            InvalidRateCard: listing every problem (including a start before now).
            RateCardVersionConflict: the version is loaded already with other prices.
        """
        cmd = ratecards.LoadRateCard(source, syntax)
        return self._run(lambda: ratecards.load_rate_card(cmd, self._uow(), self.clock))

    def rate_cards(self) -> list[RateCardHistory]:
        """Every loaded card with its versions (``history.name``, ``history.versions``)."""
        return self._run(lambda: ratecards.rate_card_histories(self._uow(read_only=True)))

    def rate_card_history(self, name: str = ratecards.DEFAULT_RATE_CARD) -> RateCardHistory:
        """Every version of card ``name``, in order of effective time."""
        return self._run(lambda: ratecards.rate_card_history(name, self._uow(read_only=True)))

    def rate_card(
        self, name: str = ratecards.DEFAULT_RATE_CARD, at: datetime | None = None
    ) -> RateCard:
        """The version of card ``name`` in force at ``at`` (default: now).

        Raises:
            RateCardNotFound: no version is loaded; NoRateCardInForce: ``at`` is too early.
        """
        return self._run(
            lambda: ratecards.rate_card_at(name, at, self._uow(read_only=True), self.clock)
        )

    def set_rate_card(self, org_id: str, name: str | None) -> str:
        """Price the organization's usage by card ``name`` from now on (``None``: the
        default card); returns the card's name. The card must be loaded."""
        cmd = ratecards.AssignRateCard(org_id, name)
        return self._run(lambda: ratecards.assign_rate_card(cmd, self._uow(), self.clock))

    def org_rate_card(self, org_id: str) -> str:
        """The name of the card the organization's usage is priced by."""
        return self._run(
            lambda: ratecards.organization_rate_card(org_id, self._uow(read_only=True))
        )

    def quote(
        self,
        org_id: str | None,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        at: datetime | None = None,
        rate_card: str | None = None,
    ) -> Quote:
        """What ``operation`` costs, with its breakdown, without spending anything.

        Priced by the organization's card (``org_id``), or the card named ``rate_card``,
        or else the default card, in the version in force at ``at`` (default: now)::

            cl.quote(org.id, "train", {"attributes": 3}, {"mode": "Business",
                     "delivery": "Standard"}).total        # 2_000_000 micro-credits

        Raises:
            UnknownOperation, InvalidUsage: the card cannot price this usage.
            OrganizationNotFound, RateCardNotFound, NoRateCardInForce: nothing to price by.
        """
        cmd = ratecards.QuoteOperation(
            operation, quantities, dimensions, tuple(steps), org_id, rate_card, at
        )
        return self._run(lambda: ratecards.quote(cmd, self._uow(read_only=True), self.clock))

    # -- billing: packs, purchases, refunds, invoices (D1-D6) ---------------------------

    def load_packs(self, text: str | bytes) -> Catalogue:
        """Store the credit pack catalogue of a TOML document (a platform's ``packs.toml``),
        replacing the one stored; purchases already made keep their own terms.

        Raises:
            InvalidSetting: listing every problem; nothing is stored.
        """
        catalogue = load_catalogue(text)

        def work(uow: UnitOfWork) -> Catalogue:
            uow.packs.put(catalogue, self.clock.now())
            uow.commit()
            return catalogue

        return self._tx(work)

    def packs(self) -> Catalogue | None:
        """The pack catalogue, or ``None`` when none is loaded."""
        return self._tx(lambda uow: uow.packs.get(), read_only=True)

    def create_purchase(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        success_url: str = SUCCESS_URL,
        cancel_url: str = CANCEL_URL,
        email: str | None = None,
        idempotency_key: str | None = None,
    ) -> Purchase:
        """Start buying ``pack`` (or ``credits`` micro-credits at the any-amount rate):
        a pending purchase and its checkout (``purchase.checkout_url``). The credits are
        granted once the provider confirms the payment (a webhook or
        :meth:`refresh_purchase`), exactly once.

        Raises:
            SelfServeUnavailable: self-serve buying is not available in the organization's
                country (:meth:`self_serve`): nothing is asked of the payment provider;
                the organization contacts sales instead (:meth:`contact_sales`).
            PaymentsUnavailable: no payment provider (operator grants only).
            PackNotFound, InvalidSetting, InvalidAmount: not something the catalogue sells.
            PaymentProviderError: the provider failed; the purchase is ``failed``.
        """
        cmd = purchases.CreatePurchase(
            org_id, currency, pack, credits, success_url, cancel_url, email, idempotency_key
        )
        return purchases.create_purchase(
            cmd, self._tx, self.payments, self.clock, self_serve=self._self_serve
        )

    def buy_on_account(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        idempotency_key: str | None = None,
    ) -> Purchase:
        """Buy ``pack`` (or ``credits`` at the any-amount rate) on account: the credits are
        granted now and the price is a line of the next monthly invoice (no checkout).

        Raises:
            OrganizationNotFound, PackNotFound, InvalidSetting, InvalidAmount: bad request.
            IdempotencyKeyReused: the key was used for another purchase.
        """
        cmd = purchases.CreatePurchase(
            org_id, currency, pack, credits, idempotency_key=idempotency_key
        )
        return self._run(lambda: purchases.buy_on_account(cmd, self._uow(), self.clock))

    def handle_webhook(self, payload: bytes, signature: str | None) -> webhooks.WebhookOutcome:
        """Act on a payment provider's webhook delivery (raw body and signature header):
        verified, deduplicated by event id, applied from re-fetched state.

        Raises:
            WebhookRejected: a forged, tampered or stale delivery; nothing was done.
        """
        return webhooks.handle_webhook(
            payload, signature, self._tx, self.payments, clock=self.clock, mailer=self._mailer
        )

    def refresh_purchase(self, org_id: str, purchase_id: str) -> Purchase:
        """Ask the provider about a pending purchase now and grant it if it is paid
        ("I bought credits but don't see them")."""
        settled = purchases.refresh_purchase(
            org_id, purchase_id, self._tx, self.payments, self.clock
        )
        if settled.receipt is not None:
            purchases.send_receipt(settled.receipt, self._tx, self._mailer, self.clock)
        return settled.purchase

    def refund_purchase(self, org_id: str, purchase_id: str) -> Purchase:
        """Refund a purchase under its refund policy: its unspent credits are taken back
        (``refund`` entries) and the money for them returned.

        Raises:
            RefundRefused: the purchase is final (non-refundable), not paid, refunded
                already, or has nothing left.
            PaymentProviderError: the provider refused; the credits are given back.
        """
        return purchases.refund_purchase(org_id, purchase_id, self._tx, self.payments, self.clock)

    def purchase(self, org_id: str, purchase_id: str) -> Purchase:
        return self._find(
            lambda uow: uow.purchases.get(org_id, purchase_id), PurchaseNotFound(purchase_id)
        )

    def purchases(self, org_id: str, limit: int = 100) -> list[Purchase]:
        """The organization's purchases, newest first (its purchase history, D4)."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.purchases.of_org(org_id, limit), read_only=True)

    def receipt(self, org_id: str, purchase_id: str) -> Receipt:
        return self._find(
            lambda uow: uow.purchases.receipt(org_id, purchase_id), PurchaseNotFound(purchase_id)
        )

    def invoice_month(self, month: str | datetime | None = None) -> invoicing.MonthRun:
        """Issue the month's invoices (default: the previous month), one per organization
        with something to bill: its plan's fees due by the month's end, its flex credits
        used in the month, its purchases on account. Numbered without gaps, each charged
        to the saved payment method when there is one. Running it again issues nothing
        twice. The scheduler runs it for every month not yet invoiced (:meth:`tick`).

        Raises:
            InvalidSetting: a malformed month, or one that is not over yet.
        """
        chosen = None if month is None else parse_month(month)
        return invoicing.invoice_month(chosen, self._tx, self.payments, self.clock)

    def invoice_flex(self, month: str | datetime | None = None) -> invoicing.MonthRun:
        """:meth:`invoice_month`, by its name from when invoices billed flex only."""
        return self.invoice_month(month)

    def _invoices_job(self, now: datetime) -> dict[str, Any]:
        runs = invoicing.invoice_due(self._tx, self.payments, self.clock)
        return {
            "months": [r.month for r in runs],
            "issued": sum(len(r.issued) for r in runs),
            "paid": sum(r.paid for r in runs),
            "unpriced": sorted({org for r in runs for org in r.unpriced}),
            "failed_charges": [i for r in runs for i in r.failed_charges],
        }

    def retry_payments(self) -> list[Invoice]:
        """Charge again every open invoice whose next dunning try has come (the
        scheduler's job); the invoices afterwards."""
        return invoicing.retry_payments(self._tx, self.payments, self.clock)

    def _payment_retries_job(self, now: datetime) -> dict[str, Any]:
        done = self.retry_payments()
        return {
            "tried": len(done),
            "paid": [i.id for i in done if i.status is InvoiceStatus.PAID],
            "failed": [i.id for i in done if i.payment_error is not None],
        }

    def mark_invoice_paid(
        self, org_id: str, invoice_id: str, reference: str | None = None
    ) -> Invoice:
        """An operator marks an open invoice paid (paid outside the provider: a transfer);
        a suspension it caused is lifted. ``reference`` is recorded with the event.

        Raises:
            InvoiceNotFound, InvalidSetting: not an open invoice of the organization.
        """
        return self._run(
            lambda: invoicing.settle_invoice(org_id, invoice_id, self._uow(), self.clock, reference)
        )

    def billing_events(
        self, org_id: str, limit: int = 100, invoice_id: str | None = None
    ) -> list[BillingEvent]:
        """The steps of the organization's invoices' collection (issued, payment failed,
        retry scheduled, suspended, paid, restored...), each with its cause, newest first."""
        return self._run(
            lambda: invoicing.billing_events(org_id, self._uow(read_only=True), limit, invoice_id)
        )

    def pending_items(self, org_id: str) -> list[InvoiceItem]:
        """What waits for the organization's next invoice (fees, prorations, purchases on
        account, credits carried), in the order they fall due."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.invoices.pending_items(org_id), read_only=True)

    def billing_hold(self, org_id: str) -> str | None:
        """The overdue invoice (``INV-000042``) the organization is suspended for, or
        ``None``."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.invoices.hold(org_id), read_only=True)

    def invoices(self, org_id: str, limit: int = 100) -> list[Invoice]:
        """The organization's invoices, newest first."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.invoices.of_org(org_id, limit), read_only=True)

    def invoice(self, org_id: str, invoice_id: str) -> Invoice:
        return self._find(
            lambda uow: uow.invoices.get(org_id, invoice_id), InvoiceNotFound(invoice_id)
        )

    def invoice_html(self, org_id: str, invoice_id: str) -> str:
        from creditline.adapters.documents import invoice_html

        return invoice_html(self.invoice(org_id, invoice_id), self.get_org(org_id).name)

    def invoice_pdf(self, org_id: str, invoice_id: str) -> bytes:
        from creditline.adapters.documents import invoice_pdf

        return invoice_pdf(self.invoice(org_id, invoice_id), self.get_org(org_id).name)

    def pay_invoice(self, org_id: str, invoice_id: str) -> Invoice:
        """Charge an open invoice to the saved payment method (again, after a decline)."""
        return invoicing.pay_invoice(org_id, invoice_id, self._tx, self.payments, self.clock)

    def void_invoice(self, org_id: str, invoice_id: str) -> Invoice:
        """Cancel an open invoice; it keeps its number."""
        return self._run(
            lambda: invoicing.void_invoice(org_id, invoice_id, self._uow(), self.clock)
        )

    def billing_history(self, org_id: str, limit: int = 100) -> list[BillingRecord]:
        """Purchases, refunds and invoices of the organization, newest first (D4)."""
        return self._run(
            lambda: invoicing.billing_history(org_id, self._uow(read_only=True), limit)
        )

    # -- automatic and recurring top-ups (D9) ---------------------------------------------

    def set_auto_topup(
        self,
        org_id: str,
        *,
        threshold: int,
        currency: str,
        pack: str | None = None,
        credits: int | None = None,
        target: int | None = None,
        monthly_cap: int | None = None,
        max_failures: int = 3,
    ) -> AutoTopup:
        """Buy automatically when the available credits fall below ``threshold``
        micro-credits: ``pack``, ``credits`` micro-credits at the any-amount rate, or
        enough to reach ``target`` micro-credits (exactly one of the three), charged
        off-session to the saved payment method in ``currency``. ``monthly_cap``: the
        most automatic top-ups may spend in a calendar month, in minor units (``None``:
        no cap). After ``max_failures`` declined charges in a row they are disabled and
        the ``payment_failed`` alerts fire. Exactly one top-up per crossing of the
        threshold (:mod:`creditline.domain.topups`). Replaces any setting, armed.

        Raises:
            OrganizationNotFound; InvalidSetting, PackNotFound, InvalidAmount: a setting
            the catalogue cannot sell.
        """
        cmd = topups.SetAutoTopup(
            org_id, threshold, currency, pack, credits, target, monthly_cap, max_failures
        )
        return topups.set_auto(cmd, self._tx, self.clock)

    def auto_topup(self, org_id: str) -> AutoTopup | None:
        """The organization's automatic top-up setting and its state (``None``: none)."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.topups.setting(org_id), read_only=True)

    def disable_auto_topup(self, org_id: str) -> AutoTopup:
        """Turn automatic top-ups off (:meth:`set_auto_topup` turns them on again)."""
        return topups.disable_auto(org_id, self._tx, self.clock)

    def set_recurring_topup(
        self,
        org_id: str,
        pack: str,
        *,
        currency: str,
        day: int,
        starts_at: datetime | None = None,
    ) -> RecurringTopup:
        """Buy ``pack`` every month on ``day`` (1-28, 00:00 UTC) from ``starts_at``
        (default now), charged off-session; the tick buys it, once per month, and once
        only after a downtime of any length. Replaces any recurring top-up."""
        cmd = topups.SetRecurringTopup(org_id, pack, currency, day, starts_at)
        return topups.set_recurring(cmd, self._tx, self.clock)

    def recurring_topup(self, org_id: str) -> RecurringTopup | None:
        self.get_org(org_id)
        return self._tx(lambda uow: uow.topups.schedule(org_id), read_only=True)

    def cancel_recurring_topup(self, org_id: str) -> RecurringTopup:
        return topups.cancel_recurring(org_id, self._tx, self.clock)

    def run_topups(self) -> topups.TopupRun:
        """Do the top-up work due now (the tick's ``topups`` job): charge the top-ups
        this process claimed and those left pending, buy the recurring ones due, and
        claim the crossings no charging group saw (expiry, refunds)."""
        self._topups.drain()
        return topups.run_topups(self._tx, self.payments, self.clock, stale=self._stale())

    def wait_topups(self) -> None:
        """Wait until the automatic top-ups claimed so far in this process are charged."""
        self._topups.drain()

    def _stale(self) -> timedelta:
        # without the background runner, nobody else charges what this process claimed
        return topups.STALE_AFTER if self._background_topups else timedelta(0)

    def _charge_claimed(self, purchase: Purchase) -> None:
        charged = topups.charge_topup(
            purchase.org_id, purchase.id, self._tx, self.payments, self.clock
        )
        if charged.receipt is not None:
            purchases.send_receipt(charged.receipt, self._tx, self._mailer, self.clock)

    def _topups_job(self, now: datetime) -> scheduler.JobOutcome:
        run = self.run_topups()
        summary = {**run.summary(),
                   "errors": [{"org_id": o, "error": str(e)} for o, e in run.errors]}  # fmt: skip
        return scheduler.JobOutcome(summary, tuple(e for _, e in run.errors))

    # -- the HTTP API: API keys, idempotent requests, reports ---------------------------

    def create_api_key(
        self,
        role: Role | str,
        org_id: str | None = None,
        *,
        name: str,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        """Make an API key: ``operator`` (everything), ``org`` (its organization) or
        ``org_read`` (its organization, reading only). The key's text is in the result's
        ``secret``, and nowhere else, ever: only its hash is stored.

        Raises:
            InvalidSetting: an unknown role, an operator key with an organization or an
                organization's key without one. InvalidTime: an expiry not in the future.
            OrganizationNotFound: no such organization.
        """
        cmd = keys.CreateApiKey(role, org_id, name, expires_at)
        return self._run(lambda: keys.create_api_key(cmd, self._uow(), self.clock))

    def api_keys(self, org_id: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
        """API keys (never their secrets), oldest first: an organization's, or all."""
        return self._run(
            lambda: keys.list_api_keys(org_id, self._uow(read_only=True), include_revoked)
        )

    def api_key(self, key_id: str) -> ApiKey:
        return self._find(lambda uow: uow.api_keys.get(key_id), ApiKeyNotFound(key_id))

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Revoke an API key: it stops working at once. Revoking it again changes nothing."""
        revoked = self._run(lambda: keys.revoke_api_key(key_id, self._uow(), self.clock))
        self._keys.forget(key_id)
        return revoked

    def authenticate(self, text: str) -> ApiKey:
        """The API key whose full text is ``text`` (``cl_live_...``), if usable now; its
        ``principal`` is who a request acts as. Notes the key's use in the background
        (at most once a minute per key). A key that checked out is kept in memory and
        checked again at least once a second (:mod:`creditline.services.key_cache`).

        Raises:
            AuthenticationFailed: malformed, unknown, expired or revoked.
        """
        return self._keys.authenticate(text)

    def cached_api_key(self, text: str) -> ApiKey | None:
        """:meth:`authenticate` from memory alone: the key, or ``None`` when it has to
        be checked against the database (a key is re-checked at least once a second,
        so a revocation anywhere takes effect within a second; see
        :mod:`creditline.services.key_cache`).

        Raises:
            AuthenticationFailed: the key has expired.
        """
        return self._keys.get(text)

    def _check_key(self, text: str) -> ApiKey:
        return self._run(lambda: keys.authenticate(text, self._uow(read_only=True), self.clock))

    def _touch_key(self, key: ApiKey) -> bool:
        return self._run(lambda: keys.touch_api_key(key, self._uow(), self.clock))

    def begin_request(self, request: IdempotentRequest) -> IdempotentRequest | None:
        """Claim an HTTP request's ``Idempotency-Key``: ``None`` to run it, or the stored
        answer to replay (see :mod:`creditline.services.http_requests`).

        Raises:
            IdempotencyKeyReused: the key was used for another request.
            IdempotencyKeyInUse: the key's first request is still running.
        """
        return self._run(lambda: http_requests.begin(request, self._uow(), self.clock))

    def finish_request(
        self, request: IdempotentRequest, status_code: int, content_type: str | None, body: str
    ) -> None:
        """Store the answer of a request :meth:`begin_request` let run."""
        answered = replace(request, status_code=status_code, content_type=content_type, body=body)
        self._run(lambda: http_requests.finish(answered, self._uow(), self.clock))

    def abandon_request(self, request: IdempotentRequest) -> None:
        """Forget a request that failed without an answer to keep, so its retry runs."""
        self._run(lambda: http_requests.abandon(request, self._uow()))

    def prune_requests(self, keep_for: timedelta = http_requests.KEEP_FOR) -> int:
        """Forget the stored answers of idempotent HTTP requests older than ``keep_for``
        (the API does it about once an hour); how many."""
        return self._run(lambda: http_requests.prune(self._uow(), self.clock, keep_for))

    def usage_report(
        self,
        org_id: str,
        group_by: Sequence[str] = ("project",),
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        period: str | None = None,
    ) -> UsageReport:
        """The organization's accepted usage (events and micro-credits) grouped by any of
        ``project``, ``operation``, ``member``, and by ``period`` (``day``, ``week`` (ISO,
        named ``2026-W02``) or ``month``, UTC) when given, over ``[since, until)``
        (default: the 30 days up to now, now included). Read from the usage rollups: one
        organization's month costs the same however many events it holds.

        Raises:
            OrganizationNotFound; InvalidSetting, InvalidTime: a bad group, period or window.
        """
        end = until or self.clock.now() + timedelta(microseconds=1)
        start = since or end - timedelta(days=30)
        cmd = reports.ReportUsage(org_id, tuple(group_by), start, end, period)
        return self._run(lambda: reports.usage_report(cmd, self._uow(read_only=True)))

    def overview(self, org_id: str, *, history_days: int = 0) -> Overview:
        """The organization's dashboard data now: available credits per kind and what
        will expire, the read-only, paused and flex flags, the running cycle, a daily
        burn-down of the cycle (or of the last 30 days; at least ``history_days``), the
        burn rate and the forecast depletion date (see :mod:`creditline.domain.overview`).
        Read from the balance and the daily rollups: it costs the same however long the
        history.

        Raises:
            OrganizationNotFound: no such organization.
        """
        return self._run(
            lambda: overviews.overview(org_id, self._uow(read_only=True), self.clock, history_days)
        )

    def plans(self) -> list[Plan]:
        """Every stored plan, by name."""

        def call() -> list[Plan]:
            with self._uow(read_only=True) as uow:
                found = [uow.plans.get(name) for name in uow.plans.names()]
            return sorted((p for p in found if p is not None), key=lambda p: p.name)

        return self._run(call)

    def ping(self) -> None:
        """Reach the database once (a read-only transaction); for readiness checks.

        Raises:
            StorageError: the database cannot be reached.
        """

        def call() -> None:
            with self._uow(read_only=True) as uow:
                uow.orgs.page(1)

        self._run(call)

    # -- alerts and outgoing webhooks (E2) ----------------------------------------------

    def add_alert(
        self,
        org_id: str,
        kind: str,
        *,
        threshold: int | None = None,
        rearm_above: int | None = None,
        percent: int | None = None,
        rearm_percent: int | None = None,
        days: int | None = None,
        rearm_days: int | None = None,
        lookback_days: int | None = None,
        channels: Sequence[str] | None = None,
        email: str | None = None,
    ) -> AlertRule:
        """Add an alert rule to an organization (see :mod:`creditline.domain.alerts`)::

            cl.add_alert(org.id, "remaining_below", threshold=credits(100))
            cl.add_alert(org.id, "remaining_below_percent", percent=20, email="ops@acme.example")
            cl.add_alert(org.id, "used_percent", percent=80)   # 80% or more of it used
            cl.add_alert(org.id, "forecast_depletion", days=3, lookback_days=7)

        ``kind``: ``remaining_below`` (``threshold`` micro-credits; re-arms at
        ``rearm_above``), ``remaining_below_percent`` (strictly below ``percent`` of the
        running cycle's grant; re-arms at ``rearm_percent``), ``used_percent`` (at least
        ``percent`` of that grant used; re-arms below ``rearm_percent`` used),
        ``depleted``, ``read_only``,
        ``forecast_depletion`` (``days``, over ``lookback_days`` of burn; re-arms beyond
        ``rearm_days``), ``payment_failed``. ``channels``: ``webhook`` and/or ``email``
        (default: ``webhook``, and ``email`` when an address is given).

        Raises:
            InvalidAlertRule: listing every problem; OrganizationNotFound.
        """
        params = {
            "threshold": threshold, "rearm_above": rearm_above, "percent": percent,
            "rearm_percent": rearm_percent, "days": days, "rearm_days": rearm_days,
            "lookback_days": lookback_days,
        }  # fmt: skip
        if channels is None:
            channels = ("webhook", "email") if email else ("webhook",)
        cmd = alerting.AddAlertRule(org_id, kind, params, tuple(channels), email)
        return self._run(lambda: alerting.add_rule(cmd, self._uow(), self.clock))

    def alert_rules(self, org_id: str, include_disabled: bool = False) -> list[AlertRule]:
        """The organization's alert rules with their states (armed or fired), oldest first."""
        return self._run(
            lambda: alerting.list_rules(org_id, self._uow(read_only=True), include_disabled)
        )

    def disable_alert(self, rule_id: str, org_id: str | None = None) -> AlertRule:
        """Disable an alert rule (``org_id``: only if it is that organization's).

        Raises:
            AlertRuleNotFound: no such rule (or not ``org_id``'s).
        """
        return self._run(lambda: alerting.remove_rule(rule_id, org_id, self._uow(), self.clock))

    def evaluate_alerts(self) -> alerting.AlertRun:
        """Evaluate every alert rule now: each fires once per crossing, its deliveries
        enqueued in the transaction of its new state (:meth:`tick` does it every time)."""
        return alerting.evaluate_alerts(self._tx, self.clock, email=self._alert_mailer is not None)

    def add_webhook(
        self,
        url: str,
        *,
        org_id: str | None = None,
        event_types: Sequence[str] = (),
        description: str | None = None,
    ) -> WebhookEndpoint:
        """Add a webhook endpoint for an organization's alert events (``org_id=None``:
        every organization's), of some event types (default: all). The result's
        ``secret`` (``whsec_...``) verifies the signatures; it is not shown again.

        The URL must be http(s), without a user name, password or control characters,
        to a public address: loopback, private, link-local, metadata and other
        non-public addresses are refused in every spelling, and so are names that
        resolve to them (:mod:`creditline.domain.webhook_urls`), except in the networks
        allowed (``webhook_allow_networks``).

        Raises:
            WebhookUrlRefused: every problem of the URL. InvalidSetting: an unknown
                event type. OrganizationNotFound: no such organization.
        """
        cmd = outbox.AddWebhookEndpoint(url, org_id, tuple(event_types), description)
        return self._run(
            lambda: outbox.add_endpoint(
                cmd, self._uow(), self.clock, policy=self._url_policy, resolver=self._resolver
            )
        )

    def webhook_endpoints(
        self, org_id: str | None = None, include_disabled: bool = False
    ) -> list[WebhookEndpoint]:
        """Webhook endpoints (without their secrets), oldest first: an organization's,
        or every one."""
        if org_id is not None:
            self.get_org(org_id)
        return self._tx(
            lambda uow: uow.webhooks.endpoints(org_id, include_disabled), read_only=True
        )

    def disable_webhook(self, endpoint_id: str, org_id: str | None = None) -> WebhookEndpoint:
        """Disable a webhook endpoint: nothing more is sent to it.

        Raises:
            WebhookEndpointNotFound: no such endpoint (or not ``org_id``'s).
        """
        return self._run(
            lambda: outbox.remove_endpoint(endpoint_id, org_id, self._uow(), self.clock)
        )

    def webhook_deliveries(
        self,
        org_id: str | None = None,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The delivery log, newest first: webhooks and alert e-mails, with their status,
        attempts and last answer; of an organization (to its own endpoints, and its
        e-mails: what the operator's all-organization endpoints got of its events is
        only in the operator's log, ``org_id=None``), an endpoint, a status."""
        if not 1 <= limit <= 10_000:
            raise InvalidSetting("limit", limit, "must be between 1 and 10000")
        try:
            chosen = None if status is None else DeliveryStatus(status)
        except ValueError:
            raise InvalidSetting(
                "delivery status", status, f"one of {[s.value for s in DeliveryStatus]}"
            ) from None
        return self._run(
            lambda: outbox.list_deliveries(
                self._uow(read_only=True), org_id, endpoint_id, chosen, limit
            )
        )

    def webhook_delivery(self, delivery_id: str, org_id: str | None = None) -> Delivery:
        """One delivery with every attempt (``attempt_log``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        return self._run(
            lambda: outbox.get_delivery(delivery_id, org_id, self._uow(read_only=True))
        )

    def redeliver_webhook(self, delivery_id: str, org_id: str | None = None) -> Delivery:
        """Queue a delivery again, due now, whatever its status (the next tick, or
        :meth:`deliver_webhooks`, sends it with the same ``webhook-id``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        return self._run(lambda: outbox.resend(delivery_id, org_id, self._uow(), self.clock))

    def deliver_webhooks(self, limit: int = 100) -> outbox.DeliveryRun:
        """Send every delivery due now (signed webhooks, alert e-mails), retrying the
        failed ones on the back-off schedule (:meth:`tick` does it every time)."""
        return outbox.deliver_due(
            self._tx, self._sender(), self._alert_mailer, self.clock, limit=limit
        )

    def _sender(self) -> outbox.WebhookSender:
        if self._webhook_sender is None:
            from creditline.adapters.notify.webhooks import HttpWebhookSender

            self._webhook_sender = HttpWebhookSender(
                allow_networks=[str(n) for n in self._url_policy.allow_networks],
                resolver=self._resolver,
            )
        return self._webhook_sender

    def _alerts_job(self, now: datetime) -> scheduler.JobOutcome:
        run = self.evaluate_alerts()
        summary = {
            "organizations": run.organizations,
            "fired": [e.type for e in run.events],
            "rearmed": run.rearmed,
            "deliveries": run.deliveries,
            "failed": [{"org_id": org, "error": str(exc)} for org, exc in run.failed],
        }
        return scheduler.JobOutcome(summary, tuple(exc for _, exc in run.failed))

    def _webhooks_job(self, now: datetime) -> dict[str, Any]:
        run = self.deliver_webhooks()
        return {
            "attempted": run.attempted,
            "delivered": run.delivered,
            "retrying": run.retrying,
            "failed": run.failed,
        }

    # -- country gating and contact sales (D8) -------------------------------------------

    @property
    def self_serve_countries(self) -> SelfServeCountries:
        """Where credits can be bought self-serve (``countries`` ``None``: everywhere)."""
        return self._self_serve

    def self_serve(self, org_id: str) -> sales.SelfServe:
        """Whether the organization can buy credits self-serve now (its country is in the
        platform's list, or there is no list), or is to contact sales instead.

        Raises:
            OrganizationNotFound: no such organization.
        """
        return self._run(
            lambda: sales.self_serve(org_id, self._uow(read_only=True), self._self_serve)
        )

    def contact_sales(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        message: str | None = None,
        member_id: str | None = None,
        email: str | None = None,
        source: str = "api",
    ) -> SalesRequest:
        """Ask sales about buying ``pack`` (or ``credits`` micro-credits, or neither):
        the request is recorded with the organization's country, listed for the
        operator (:meth:`sales_requests`), signed to the operator's webhook endpoints
        (``sales.contact_requested``) and e-mailed to the sales address (when set and
        the engine has a mail server). Nothing is bought. Any organization may ask,
        whether or not it could buy self-serve.

        Raises:
            InvalidSetting, InvalidAmount: a bad request (nothing recorded).
            OrganizationNotFound, MemberNotFound, PackNotFound: nothing recorded.
        """
        cmd = sales.ContactSales(org_id, pack, credits, message, member_id, email, _source(source))
        mail_to = self._sales_email if self._alert_mailer is not None else None
        return self._run(
            lambda: sales.contact_sales(cmd, self._uow(), self.clock, sales_email=mail_to)
        )

    def sales_requests(self, org_id: str | None = None, limit: int = 100) -> list[SalesRequest]:
        """Contact-sales requests, newest first: an organization's, or every one.

        Raises:
            InvalidSetting: a limit outside 1 to 10000. OrganizationNotFound.
        """
        return self._run(lambda: sales.list_requests(self._uow(read_only=True), org_id, limit))

    def sales_request(self, request_id: str, org_id: str | None = None) -> SalesRequest:
        """One contact-sales request (``org_id``: only if it is that organization's).

        Raises:
            SalesRequestNotFound: no such request (or not ``org_id``'s).
        """
        return self._run(lambda: sales.get_request(request_id, org_id, self._uow(read_only=True)))

    # -- the web dashboard: portal sessions (issue 6) -----------------------------------

    def create_portal_session(
        self,
        org_id: str,
        *,
        member_id: str | None = None,
        read_only: bool = False,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> PortalSession:
        """A short-lived signed link into the organization's customer portal, for the
        platform's backend to redirect its (already signed-in) user to, as Stripe's
        billing portal does (see :mod:`creditline.domain.portal`)::

            link = cl.create_portal_session(org.id, read_only=True)
            redirect(base_url + link.url)        # /portal/session/<token>

        The link opens a browser session scoped to the organization (and ``member_id``);
        ``read_only`` sessions change nothing. It stops opening after ``ttl_seconds``
        (30 to 3600).

        Raises:
            InvalidSetting: a lifetime out of range.
            OrganizationNotFound, MemberNotFound: no such organization, or member of it.
        """
        cmd = web.CreatePortalSession(org_id, member_id, read_only, ttl_seconds)
        signer = self.dashboard.signer()
        return self._run(
            lambda: web.create_portal_session(cmd, self._uow(read_only=True), self.clock, signer)
        )

    def open_portal_link(self, token: str) -> PortalSession:
        """Check a portal link's token (the web portal does, when the link is visited).

        Raises:
            PortalLinkInvalid: it does not verify. PortalLinkExpired: it has expired.
        """
        return web.open_portal_link(token, self.dashboard.signer(), self.clock)

    def queue_test_webhook(self, org_id: str, endpoint_id: str) -> Delivery:
        """Queue a signed ``webhook.test`` delivery to one of the organization's webhook
        endpoints, due now (the next tick sends it; it is logged like any delivery).

        Raises:
            WebhookEndpointNotFound: no such active endpoint of the organization.
        """
        return self._run(
            lambda: web.queue_test_webhook(org_id, endpoint_id, self._uow(), self.clock)
        )


# -- billing adapters from the environment -------------------------------------------------

STRIPE_API_KEY_ENV = "CREDITLINE_STRIPE_API_KEY"
STRIPE_WEBHOOK_SECRET_ENV = "CREDITLINE_STRIPE_WEBHOOK_SECRET"
STRIPE_API_BASE_ENV = "CREDITLINE_STRIPE_API_BASE"
SMTP_HOST_ENV = "CREDITLINE_SMTP_HOST"


def payments_from_env(environ: Mapping[str, str]) -> PaymentProvider:
    """Stripe when ``CREDITLINE_STRIPE_API_KEY`` (and ``CREDITLINE_STRIPE_WEBHOOK_SECRET``)
    are set, else no payment provider (operator grants only). ``CREDITLINE_STRIPE_API_BASE``
    points the SDK at another API address (a local fake Stripe in tests and demos).

    Raises:
        ConfigurationError: an API key without the webhook secret.
    """
    from creditline.adapters.payments import StripeProvider

    key = environ.get(STRIPE_API_KEY_ENV, "").strip()
    if not key:
        return NoPayments()
    secret = environ.get(STRIPE_WEBHOOK_SECRET_ENV, "").strip()
    if not secret:
        raise ConfigurationError(
            f"{STRIPE_API_KEY_ENV} is set but {STRIPE_WEBHOOK_SECRET_ENV} is not: webhooks "
            "could not be verified"
        )
    return StripeProvider(
        key, secret, api_base=environ.get(STRIPE_API_BASE_ENV, "").strip() or None
    )


def mailer_from_env(environ: Mapping[str, str]) -> ReceiptSender | None:
    """An SMTP mailer when ``CREDITLINE_SMTP_HOST`` is set (``CREDITLINE_SMTP_PORT``,
    ``_FROM``, ``_USER``, ``_PASSWORD``, ``_STARTTLS=1`` complete it), else ``None``.

    Raises:
        ConfigurationError: a port that is not a number.
    """
    from creditline.adapters.notify import SmtpMailer

    host = environ.get(SMTP_HOST_ENV, "").strip()
    if not host:
        return None
    port = environ.get("CREDITLINE_SMTP_PORT", "25").strip()
    if not port.isdigit():
        raise ConfigurationError(f"CREDITLINE_SMTP_PORT must be a port number, got {port!r}")
    return SmtpMailer(
        host,
        int(port),
        sender=environ.get("CREDITLINE_SMTP_FROM", "creditline@localhost"),
        username=environ.get("CREDITLINE_SMTP_USER") or None,
        password=environ.get("CREDITLINE_SMTP_PASSWORD") or None,
        starttls=environ.get("CREDITLINE_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
    )
