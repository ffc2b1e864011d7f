"""Credit packs: what an organization can buy, at what price, and the refund policy (D1, D3, D7).

A platform's **catalogue** (:class:`Catalogue`) sells credits in two ways:

- **packs** (:class:`Pack`): a fixed number of credits at a fixed price in each
  currency it is sold in, volume discounts being simply cheaper credits in bigger
  packs (10 credits for EUR 100, 50 for EUR 450, 100 for EUR 800 [003]);
- **any amount at a fixed rate** (:class:`AnyAmount`): the buyer chooses how many
  credits, between a minimum and a maximum, in steps, at a price per credit
  (1 credit = USD 1 [004]).

What is bought becomes one ``prepaid`` grant whose expiry follows the pack's rule:
``never`` [003] or a fixed term after the purchase (6 months [000]; the term is
counted from the instant the payment is confirmed, when the credits appear). Cycle
rules (``end_of_cycle``, ``rollover``) belong to plans, not to purchases, and are
refused here. The grant's cost basis is the price of one credit: the pack's price
divided by its credits, rounded by :func:`creditline.domain.money.round_half_up`.

The catalogue's **refund policy** (:class:`RefundPolicy`) is the platform's: ``final``
(purchases are "final and non-refundable" [000]) or ``refundable`` (the unspent part
of a purchase's credits can be reversed and the money for it returned). A purchase
keeps the policy it was sold under.

**Document form** (TOML; :func:`load_catalogue` lists every problem, each with its
place)::

    name = "otai"
    refund_policy = "refundable"          # or "final"

    [[packs]]
    name = "50-credits"
    description = "50 Credits (10% off)"
    credits = 50
    prices_minor = { EUR = 45000 }        # minor units (cents) per currency
    expiry = "never"                      # or { after = "6 months" }

    [any_amount]                          # optional
    unit_prices_minor = { USD = 100 }     # the price of one credit
    min_credits = 1
    max_credits = 10000
    step_credits = 1                      # amounts are whole multiples of this
    expiry = "never"
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from creditline.domain.amounts import MAX_MICROS, CostBasis, format_credits, parse_credits
from creditline.domain.cycles import ExpiryKind, ExpiryRule, parse_expiry
from creditline.domain.errors import (
    InvalidAmount,
    InvalidSetting,
    PackNotFound,
)
from creditline.domain.money import MAX_MINOR, Money, money_for_credits, unit_price_minor

__all__ = [
    "ANY_AMOUNT",
    "AnyAmount",
    "Catalogue",
    "Offer",
    "Pack",
    "RefundPolicy",
    "load_catalogue",
    "parse_catalogue",
]

ANY_AMOUNT = "any-amount"
"""The name a purchase of "any amount at a fixed rate" is recorded under."""


class RefundPolicy(enum.StrEnum):
    """Whether purchases can be refunded: ``final`` [000] or ``refundable``."""

    FINAL = "final"
    REFUNDABLE = "refundable"


@dataclass(frozen=True, slots=True)
class Pack:
    """A pack of credits sold at a fixed price.

    Attributes:
        name: how buyers and the CLI name it (``"explorer"``).
        credits: micro-credits it grants.
        prices_minor: its price in each currency it is sold in, in minor units.
        expiry: when its grant expires (``never`` or ``after`` a term).
        description: words for people (``"Explorer Pack"``).
    """

    name: str
    credits: int
    prices_minor: Mapping[str, int]
    expiry: ExpiryRule = field(default_factory=ExpiryRule.never)
    description: str = ""

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "credits": format_credits(self.credits),
            "prices_minor": dict(sorted(self.prices_minor.items())),
            "expiry": self.expiry.to_document(),
        }


@dataclass(frozen=True, slots=True)
class AnyAmount:
    """Credits in any amount at a fixed price per credit.

    Attributes:
        unit_prices_minor: the price of one credit in each currency, in minor units.
        min_credits, max_credits: the least and the most one purchase may buy
            (micro-credits).
        step: amounts are whole multiples of this (micro-credits; one credit unless
            said).
        expiry: when the grant expires.
    """

    unit_prices_minor: Mapping[str, int]
    min_credits: int
    max_credits: int
    step: int = 1_000_000
    expiry: ExpiryRule = field(default_factory=ExpiryRule.never)

    def to_document(self) -> dict[str, Any]:
        return {
            "unit_prices_minor": dict(sorted(self.unit_prices_minor.items())),
            "min_credits": format_credits(self.min_credits),
            "max_credits": format_credits(self.max_credits),
            "step_credits": format_credits(self.step),
            "expiry": self.expiry.to_document(),
        }


@dataclass(frozen=True, slots=True)
class Offer:
    """What one purchase buys, at what price: the terms a purchase records.

    Attributes:
        pack: the pack's name, or :data:`ANY_AMOUNT`.
        credits: micro-credits to grant once paid.
        price: what to pay.
        expiry: when the grant expires, counted from the payment's confirmation.
    """

    pack: str
    credits: int
    price: Money
    expiry: ExpiryRule

    @property
    def cost_basis(self) -> CostBasis:
        """The price of one credit (rounded half up to a minor unit) and its currency."""
        return CostBasis(unit_price_minor(self.price.minor, self.credits), self.price.currency)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A platform's packs, its any-amount rate, and its refund policy."""

    name: str
    packs: tuple[Pack, ...] = ()
    any_amount: AnyAmount | None = None
    refund_policy: RefundPolicy = RefundPolicy.FINAL

    def pack(self, name: str) -> Pack:
        for pack in self.packs:
            if pack.name == name:
                return pack
        raise PackNotFound(name)

    def offer(self, currency: str, pack: str | None = None, credits: int | None = None) -> Offer:
        """The terms of buying ``pack``, or ``credits`` micro-credits at the fixed rate.

        Raises:
            PackNotFound: no such pack (or no any-amount rate, for ``credits``).
            InvalidSetting: both or neither of ``pack`` and ``credits``; a currency the
                pack is not sold in.
            InvalidAmount: ``credits`` outside the any-amount bounds or off its step.
        """
        if (pack is None) == (credits is None):
            raise InvalidSetting("purchase", pack or credits, "give a pack or an amount of credits")
        if pack is not None:
            found = self.pack(pack)
            price = found.prices_minor.get(currency)
            if price is None:
                raise InvalidSetting(
                    "currency", currency, f"pack {pack!r} is sold in {_names(found.prices_minor)}"
                )
            return Offer(found.name, found.credits, Money(price, currency), found.expiry)
        assert credits is not None
        return self._any_amount(credits, currency)

    def _any_amount(self, micros: int, currency: str) -> Offer:
        rate = self.any_amount
        if rate is None:
            raise PackNotFound(ANY_AMOUNT)
        if isinstance(micros, bool) or not isinstance(micros, int):
            raise InvalidAmount(micros, "an amount of credits is an integer of micro-credits")
        if not rate.min_credits <= micros <= rate.max_credits:
            raise InvalidAmount(
                format_credits(micros),
                f"buy from {format_credits(rate.min_credits)} to "
                f"{format_credits(rate.max_credits)} credits",
            )
        if micros % rate.step:
            raise InvalidAmount(
                format_credits(micros), f"buy a multiple of {format_credits(rate.step)} credits"
            )
        unit = rate.unit_prices_minor.get(currency)
        if unit is None:
            raise InvalidSetting(
                "currency", currency, f"credits are sold in {_names(rate.unit_prices_minor)}"
            )
        return Offer(ANY_AMOUNT, micros, Money(money_for_credits(micros, unit), currency),
                     rate.expiry)  # fmt: skip

    def to_document(self) -> dict[str, Any]:
        """The document form, which :func:`parse_catalogue` reads back to an equal catalogue."""
        document: dict[str, Any] = {
            "name": self.name,
            "refund_policy": self.refund_policy.value,
            "packs": [p.to_document() for p in self.packs],
        }
        if self.any_amount is not None:
            document["any_amount"] = self.any_amount.to_document()
        return document


def _names(prices: Mapping[str, int]) -> str:
    return ", ".join(sorted(prices)) or "no currency"


# -- parsing ----------------------------------------------------------------------------

_KEYS = {"name", "refund_policy", "packs", "any_amount"}
_PACK_KEYS = {"name", "description", "credits", "prices_minor", "expiry"}
_ANY_KEYS = {"unit_prices_minor", "min_credits", "max_credits", "step_credits", "expiry"}


def _unknown(raw: Mapping[str, Any], known: set[str], where: str, problems: list[str]) -> None:
    prefix = f"{where}." if where else ""
    problems.extend(f"{prefix}{key}: unknown key" for key in sorted(map(str, set(raw) - known)))


def _credits(value: object, where: str, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        problems.append(f'{where}: must be a number of credits (10 or "2.5"), got {value!r}')
        return None
    try:
        micros = parse_credits(value)
    except InvalidAmount as exc:
        problems.append(f"{where}: {exc.reason}, got {value!r}")
        return None
    if not 0 < micros <= MAX_MICROS:
        problems.append(f"{where}: must be greater than zero, got {value!r}")
        return None
    return micros


def _prices(value: object, where: str, problems: list[str]) -> dict[str, int]:
    if not isinstance(value, Mapping) or not value:
        problems.append(f"{where}: must be a table of currency = minor units, as {{ EUR = 45000 }}")
        return {}
    prices = {}
    for currency, minor in value.items():
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
            problems.append(f"{where}.{currency}: not a three-letter ISO 4217 code")
        elif isinstance(minor, bool) or not isinstance(minor, int) or not 0 < minor <= MAX_MINOR:
            problems.append(
                f"{where}.{currency}: must be a whole number of minor units above zero "
                f"(EUR 450.00 is 45000), got {minor!r}"
            )
        else:
            prices[currency] = minor
    return prices


def _expiry(raw: Mapping[str, Any], where: str, problems: list[str]) -> ExpiryRule:
    try:
        rule = parse_expiry(raw.get("expiry", "never"), f"{where}expiry")
    except InvalidSetting as exc:
        problems.extend(exc.reason.split("; "))
        return ExpiryRule.never()
    if rule.kind not in (ExpiryKind.NEVER, ExpiryKind.AFTER):
        problems.append(
            f'{where}expiry: bought credits expire "never" or {{ after = "6 months" }} '
            "(cycle rules belong to plans)"
        )
        return ExpiryRule.never()
    return rule


def _pack(raw: object, where: str, problems: list[str]) -> Pack | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a table")
        return None
    found: list[str] = []
    _unknown(raw, _PACK_KEYS, where, found)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        found.append(f"{where}.name: must be a name of 1 to 100 characters")
    description = raw.get("description", "")
    if not isinstance(description, str):
        found.append(f"{where}.description: must be text")
    amount = _credits(raw.get("credits"), f"{where}.credits", found)
    prices = _prices(raw.get("prices_minor"), f"{where}.prices_minor", found)
    expiry = _expiry(raw, f"{where}.", found)
    problems.extend(found)
    if found or amount is None:
        return None
    return Pack(str(name), amount, prices, expiry, str(description))


def _any_amount(raw: object, problems: list[str]) -> AnyAmount | None:
    where = "any_amount"
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a table")
        return None
    found: list[str] = []
    _unknown(raw, _ANY_KEYS, where, found)
    prices = _prices(raw.get("unit_prices_minor"), f"{where}.unit_prices_minor", found)
    low = _credits(raw.get("min_credits", 1), f"{where}.min_credits", found)
    high = _credits(raw.get("max_credits"), f"{where}.max_credits", found)
    step = _credits(raw.get("step_credits", 1), f"{where}.step_credits", found)
    expiry = _expiry(raw, f"{where}.", found)
    if low is not None and high is not None and low > high:
        found.append(f"{where}: min_credits must not be above max_credits")
    if low is not None and step is not None and low % step:
        found.append(f"{where}.min_credits: must be a multiple of step_credits")
    problems.extend(found)
    if found or low is None or high is None or step is None:
        return None
    return AnyAmount(prices, low, high, step, expiry)


def parse_catalogue(raw: Mapping[str, Any]) -> Catalogue:
    """Build a catalogue from its document form, listing every problem.

    Raises:
        InvalidSetting: named ``packs``, whose reason lists every problem, each starting
            with its place (``packs[1] (50-credits).prices_minor.EUR: ...``), joined by
            ``"; "``; nothing is returned.
    """
    problems: list[str] = []
    _unknown(raw, _KEYS, "", problems)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: must be a non-empty string (the platform's name)")
    try:
        policy = RefundPolicy(raw.get("refund_policy", RefundPolicy.FINAL.value))
    except ValueError:
        problems.append(f"refund_policy: one of {', '.join(p.value for p in RefundPolicy)}")
        policy = RefundPolicy.FINAL
    items = raw.get("packs", [])
    if not isinstance(items, list):
        problems.append("packs: must be a list of [[packs]] tables")
        items = []
    packs = []
    for i, item in enumerate(items):
        label = item.get("name") if isinstance(item, Mapping) else None
        pack = _pack(item, f"packs[{i}] ({label})" if label else f"packs[{i}]", problems)
        if pack is not None:
            packs.append(pack)
    names = [p.name for p in packs]
    twice = sorted({n for n in names if names.count(n) > 1})
    problems.extend(f"packs: {n!r} is defined more than once" for n in twice)
    if ANY_AMOUNT in names:
        problems.append(f"packs: {ANY_AMOUNT!r} is reserved for [any_amount]")
    any_amount = None
    if "any_amount" in raw:
        any_amount = _any_amount(raw["any_amount"], problems)
    if not items and "any_amount" not in raw:
        problems.append("packs: sell at least one [[packs]] or an [any_amount] rate")
    if problems:
        raise InvalidSetting("packs", name, "; ".join(problems))
    return Catalogue(str(name), tuple(packs), any_amount, policy)


def load_catalogue(text: str | bytes) -> Catalogue:
    """Read a catalogue from TOML (a platform's ``packs.toml``); see the module docstring.

    Raises:
        InvalidSetting: listing every problem; nothing is returned.
    """
    try:
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        document = tomllib.loads(source, parse_float=Decimal)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidSetting("packs", None, f"not a TOML document: {exc}") from None
    return parse_catalogue(document)
