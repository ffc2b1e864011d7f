"""Rate cards (C2, C3): loading versions, reading them back, and quotes.

A rate card is loaded one version at a time, from a document (TOML, JSON or a mapping:
:mod:`creditline.domain.pricing.ratecard_format`) or a :class:`RateCard` built in code. Loading
keeps these rules:

- **A loaded version never changes.** Loading the same (name, version) again is a no-op
  when the document is identical (loading is idempotent: a retried or repeated load gets
  the stored card back) and is refused with :class:`RateCardVersionConflict` when it is
  not: new prices are a new version.
- **A new version takes effect now or later** (:meth:`RateCardHistory.add`): one that
  started in the past would re-price usage that has already happened. The *first*
  version of a card may start in the past, since nothing was priced by a card before it
  existed (the example cards carry the dates their platforms published the prices).
- Two versions of one card never take effect at the same instant.

An organization's usage is priced by the card named on it (:func:`assign_rate_card`),
or by :data:`DEFAULT_RATE_CARD` when it names none; usage at a time is priced by the
version in force then. :func:`card_name_of` and :func:`card_in_force` give that lookup
to other services, inside a unit of work they already hold.

A quote (:func:`quote`) prices an operation by that version without spending anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from creditline.domain.errors import (
    InvalidSetting,
    NoRateCardInForce,
    OrganizationNotFound,
    RateCardNotFound,
    RateCardVersionConflict,
)
from creditline.domain.pricing import Quantity, Quote, RateCard, RateCardHistory, Step, price
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.time import Clock, require_aware
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "DEFAULT_RATE_CARD",
    "AssignRateCard",
    "LoadRateCard",
    "QuoteOperation",
    "assign_rate_card",
    "card_in_force",
    "card_name_of",
    "load_rate_card",
    "organization_rate_card",
    "quote",
    "rate_card_at",
    "rate_card_histories",
    "rate_card_history",
]

DEFAULT_RATE_CARD = "default"
"""The card of every organization that names none."""

_MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class LoadRateCard:
    """Load one rate card version.

    Attributes:
        source: TOML or JSON text (or UTF-8 bytes), the document as a mapping, or a card
            built in code.
        syntax: how to read text: ``"toml"`` or ``"json"``.
    """

    source: str | bytes | Mapping[str, Any] | RateCard
    syntax: Literal["toml", "json"] = "toml"


@dataclass(frozen=True, slots=True)
class AssignRateCard:
    """Price an organization's usage by card ``name`` (``None``: the default card)."""

    org_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class QuoteOperation:
    """Price one use of an operation, without spending.

    The card is the organization's (``org_id``), or the one named (``rate_card``), or
    else the default card; the version is the one in force at ``at`` (default: now).
    ``quantities``, ``dimensions`` and ``steps`` are as :func:`~creditline.domain.pricing.price`
    takes them.
    """

    operation: str
    quantities: Mapping[str, Quantity] | None = None
    dimensions: Mapping[str, str] | None = None
    steps: Sequence[Step] = ()
    org_id: str | None = None
    rate_card: str | None = None
    at: datetime | None = None


def load_rate_card(cmd: LoadRateCard, uow: UnitOfWork, clock: Clock) -> RateCard:
    """Validate and store one version (see the module docstring for the rules).

    Returns:
        The card as stored (for a repeated load, the one already stored).

    Raises:
        InvalidRateCard: the document breaks a rule (every problem listed), or the
            version takes effect before now, or at the same instant as another version.
        RateCardVersionConflict: this version is loaded already, with other contents.
    """
    source = cmd.source
    card = source if isinstance(source, RateCard) else parse_ratecard(source, syntax=cmd.syntax)
    with uow:
        uow.rate_cards.lock(card.name)
        stored = uow.rate_cards.get(card.name, card.version)
        if stored is not None:
            if stored.to_dict() != card.to_dict():
                raise RateCardVersionConflict(card.name, card.version)
            return stored
        now = clock.now()
        history = uow.rate_cards.history(card.name)
        if history is not None:
            history.add(card, now=now)  # refuses a start before now, or a clash
        uow.rate_cards.add(card, now)
        uow.commit()
    return card


def assign_rate_card(cmd: AssignRateCard, uow: UnitOfWork, clock: Clock) -> str:
    """Set the card an organization's usage is priced by; returns the card's name.

    Raises:
        OrganizationNotFound: no such organization.
        RateCardNotFound: no version of that card is loaded.
    """
    name = None if cmd.name is None else _card_name(cmd.name)
    with uow:
        if name is not None and not uow.rate_cards.exists(name):
            raise RateCardNotFound(name)
        if not uow.rate_cards.assign(cmd.org_id, name):
            raise OrganizationNotFound(cmd.org_id)
        uow.commit()
    return name or DEFAULT_RATE_CARD


def rate_card_history(name: str, uow: UnitOfWork) -> RateCardHistory:
    """Every version of card ``name``.

    Raises:
        RateCardNotFound: none is loaded.
    """
    name = _card_name(name)
    with uow:
        history = uow.rate_cards.history(name)
    if history is None:
        raise RateCardNotFound(name)
    return history


def rate_card_histories(uow: UnitOfWork) -> list[RateCardHistory]:
    """Every card's versions, by card name."""
    with uow:
        return uow.rate_cards.histories()


def organization_rate_card(org_id: str, uow: UnitOfWork) -> str:
    """The name of the card the organization's usage is priced by (see :func:`card_name_of`)."""
    with uow:
        return card_name_of(uow, org_id)


def rate_card_at(name: str, at: datetime | None, uow: UnitOfWork, clock: Clock) -> RateCard:
    """The version of card ``name`` in force at ``at`` (default: now).

    Raises:
        RateCardNotFound: no version of the card is loaded.
        NoRateCardInForce: ``at`` is before its first version.
    """
    moment = clock.now() if at is None else require_aware(at, "at")
    with uow:
        return card_in_force(uow, _card_name(name), moment)


def quote(cmd: QuoteOperation, uow: UnitOfWork, clock: Clock) -> Quote:
    """Price ``cmd.operation`` by the card in force at ``cmd.at``; nothing is written.

    Raises:
        InvalidSetting: both an organization and a card were named.
        OrganizationNotFound, RateCardNotFound, NoRateCardInForce: nothing to price by.
        UnknownOperation, InvalidUsage: as :func:`~creditline.domain.pricing.price`.
    """
    if cmd.org_id is not None and cmd.rate_card is not None:
        raise InvalidSetting(
            "rate card", cmd.rate_card, "give an organization or a rate card, not both"
        )
    at = clock.now() if cmd.at is None else require_aware(cmd.at, "at")
    with uow:
        if cmd.org_id is not None:
            name = card_name_of(uow, cmd.org_id)
        else:
            name = _card_name(cmd.rate_card or DEFAULT_RATE_CARD)
        card = card_in_force(uow, name, at)
    return price(card, cmd.operation, cmd.quantities, cmd.dimensions, steps=cmd.steps, at=at)


# -- lookups inside an open unit of work -------------------------------------------------


def card_name_of(uow: UnitOfWork, org_id: str) -> str:
    """The name of the card the organization's usage is priced by.

    Raises:
        OrganizationNotFound: no such organization.
    """
    name = uow.rate_cards.org_card(org_id)
    if name is not None:
        return name
    if uow.orgs.get(org_id) is None:
        raise OrganizationNotFound(org_id)
    return DEFAULT_RATE_CARD


def card_in_force(uow: UnitOfWork, name: str, at: datetime) -> RateCard:
    """The version of card ``name`` in force at ``at``: what usage at ``at`` costs.

    Raises:
        RateCardNotFound: no version of the card is loaded.
        NoRateCardInForce: ``at`` is before its first version.
    """
    card = uow.rate_cards.in_force(name, at)
    if card is not None:
        return card
    if uow.rate_cards.exists(name):
        raise NoRateCardInForce(name, at)
    raise RateCardNotFound(name)


def _card_name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise InvalidSetting("rate card name", name, f"must be 1 to {_MAX_NAME} characters")
    return name
