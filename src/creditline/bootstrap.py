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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from creditline.adapters.clock import SystemClock
from creditline.adapters.db.checkpoint import WalCheckpointer
from creditline.adapters.db.engine import make_engine, redact
from creditline.adapters.db.portal import KeySigner
from creditline.adapters.db.raw import first_line
from creditline.adapters.db.uow import SqlUnitOfWork, is_transient
from creditline.adapters.group_commit import GroupWriter
from creditline.adapters.notify.addresses import SystemResolver, allow_networks
from creditline.adapters.payments import NoPayments
from creditline.domain.countries import parse_self_serve_countries
from creditline.domain.errors import ConfigurationError, CreditlineError, StorageError
from creditline.domain.purchases import Purchase
from creditline.domain.sales import parse_sales_email
from creditline.domain.time import Clock
from creditline.domain.webhook_urls import Resolver, UrlPolicy
from creditline.facade.alerts import Alerts
from creditline.facade.api import Api
from creditline.facade.billing import Billing
from creditline.facade.budgets import Budgets
from creditline.facade.core import T, WriteCommand
from creditline.facade.cycles import Cycles, RenewalReport
from creditline.facade.deliveries import Deliveries
from creditline.facade.money import ExpiryReport, Money
from creditline.facade.organizations import Organizations
from creditline.facade.plans import Plans
from creditline.facade.portal import Portal
from creditline.facade.quotes import Quotes
from creditline.facade.ratecards import RateCards
from creditline.facade.reading import Reading
from creditline.facade.reports import Reports
from creditline.facade.reservations import Reservations
from creditline.facade.sales import Sales
from creditline.facade.topups import Topups
from creditline.facade.usage import Usage
from creditline.services import charging, deliveries, portal, scheduler, topups
from creditline.services.key_cache import KeyCache
from creditline.services.ports.payments import PaymentProvider, ReceiptSender
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "ANSWER_BEFORE_COMMIT_ENV",
    "Creditline",
    "ExpiryReport",
    "RenewalReport",
    "WriteCommand",
]

ANSWER_BEFORE_COMMIT_ENV = "CREDITLINE_TEST_ANSWER_BEFORE_COMMIT"
"""Set to ``1`` by the crash tests only: the writer answers before its commit (broken)."""

_WRITER_LOCK = threading.Lock()

SELF_SERVE_COUNTRIES_ENV = "CREDITLINE_SELF_SERVE_COUNTRIES"
"""The countries where credits can be bought self-serve (``US,CA``; unset: everywhere)."""
SALES_EMAIL_ENV = "CREDITLINE_SALES_EMAIL"
"""Where contact-sales requests are e-mailed (unset: not e-mailed)."""


class Creditline(
    Cycles,
    Plans,
    Reading,
    Money,
    Reservations,
    Usage,
    RateCards,
    Quotes,
    Billing,
    Topups,
    Api,
    Reports,
    Alerts,
    Budgets,
    Deliveries,
    Sales,
    Portal,
    Organizations,
):
    """The credits engine on one database. Thread-safe; open one per process."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock | None = None,
        max_attempts: int = 30,
        *,
        payments: PaymentProvider | None = None,
        mailer: ReceiptSender | None = None,
        webhook_sender: deliveries.WebhookSender | None = None,
        alert_mailer: deliveries.AlertMailer | None = None,
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
        self._sales_email = parse_sales_email(
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
            mailer if isinstance(mailer, deliveries.AlertMailer) else None
        )
        self.add_tick_job("alerts", self._alerts_job)
        self.add_tick_job("webhooks", self._webhooks_job)
        # The web dashboard's reads and the signer of its links and cookies.
        self.dashboard = portal.Dashboard(self._tx, self.clock, KeySigner)
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
        webhook_sender: deliveries.WebhookSender | None = None,
        alert_mailer: deliveries.AlertMailer | None = None,
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
            raise ConfigurationError(f"cannot open {redact(str(url))}: {first_line(exc)}") from exc
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
            raise StorageError(first_line(exc)) from exc

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

    def _sender(self) -> deliveries.WebhookSender:
        if self._webhook_sender is None:
            from creditline.adapters.notify.webhooks import HttpWebhookSender

            self._webhook_sender = HttpWebhookSender(
                allow_networks=[str(n) for n in self._url_policy.allow_networks],
                resolver=self._resolver,
            )
        return self._webhook_sender


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
