"""What every part of the facade stands on: the engine's settings and its plumbing.

:class:`~creditline.bootstrap.Creditline` is made of one mixin per feature (this
package's other modules), each calling the services through the few methods declared
here and defined by the engine itself, where the database and the adapters are wired:

- ``_run(call)`` runs one transaction, retried whole on transient conflicts;
- ``_uow(read_only)`` opens a unit of work (for ``_run``'s call to enter);
- ``_tx(work)`` runs ``work`` in one entered unit of work (a service's
  ``Transactions``);
- ``_find(read, missing)`` reads in a read-only transaction, or raises ``missing``;
- ``_write(command)`` hands a command that moves credits to the group-commit writer and
  waits for its answer;
- ``_sender()`` is the webhook sender (made when first needed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from creditline.domain.countries import SelfServeCountries
from creditline.domain.errors import CreditlineError
from creditline.domain.time import Clock
from creditline.domain.webhook_urls import Resolver, UrlPolicy
from creditline.services import deliveries, portal, scheduler, topups
from creditline.services.charging import WriteCommand
from creditline.services.key_cache import KeyCache
from creditline.services.ports.payments import PaymentProvider, ReceiptSender
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["Core", "T", "WriteCommand"]

T = TypeVar("T")


class Core(ABC):
    """The engine's settings and plumbing, as the feature mixins see them."""

    clock: Clock
    payments: PaymentProvider
    """The payment provider credits are bought through (none: operator grants only)."""
    dashboard: portal.Dashboard
    """The web dashboard's reads and the signer of its links and cookies."""
    _mailer: ReceiptSender | None
    _alert_mailer: deliveries.AlertMailer | None
    _url_policy: UrlPolicy
    _resolver: Resolver
    _self_serve: SelfServeCountries
    _sales_email: str | None
    _tick_jobs: list[tuple[str, scheduler.TickJob]]
    _background_topups: bool
    _topups: topups.TopupRunner
    _keys: KeyCache

    @abstractmethod
    def _uow(self, read_only: bool = False) -> UnitOfWork:
        """A new unit of work on the engine's database."""

    @abstractmethod
    def _run(self, call: Callable[[], T]) -> T:
        """Run one transaction, retrying it whole on transient conflicts."""

    @abstractmethod
    def _tx(self, work: Callable[[UnitOfWork], T], *, read_only: bool = False) -> T:
        """Run ``work`` in one unit of work, retried whole on transient conflicts."""

    @abstractmethod
    def _find(self, read: Callable[[UnitOfWork], T | None], missing: CreditlineError) -> T:
        """What ``read`` finds in a read-only transaction, or raise ``missing``."""

    @abstractmethod
    def _write(self, command: WriteCommand) -> Any:
        """Submit a command and wait for its answer (raising its error)."""

    @abstractmethod
    def _sender(self) -> deliveries.WebhookSender:
        """The webhook sender."""
