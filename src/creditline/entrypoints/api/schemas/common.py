"""What the bodies of every feature share: the types of names, credit amounts (decimal
text or micro-credits), times, metadata, quantities and dimensions; a request amount given
in either form; causes, money, and the problem details of every error answer."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictInt,
    StrictStr,
    model_validator,
)

from creditline.domain.amounts import format_credits, parse_credits
from creditline.domain.ledger import CauseType
from creditline.domain.money import Money
from creditline.entrypoints.api.schema_rules import NOT_BLANK, Ruled, exactly_one

Name = Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
Ident = Annotated[StrictStr, Field(min_length=1, max_length=200)]
CreditsText = Annotated[
    StrictStr,
    Field(
        pattern=r"^[0-9]{1,13}(\.[0-9]{1,6})?$",
        max_length=21,
        description="Credits, an exact decimal string (at most 6 decimals).",
        examples=["12.5"],
    ),
]
_ABOVE_ZERO = (
    r"(?:[1-9][0-9]{0,11}(?:\.[0-9]{1,6})?"
    r"|0\.(?:[1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|000[1-9][0-9]{0,2}"
    r"|0000[1-9][0-9]?|00000[1-9]))"
)
"""Credits above zero: up to 12 digits (no leading zero) and up to 6 decimals: below a
trillion credits, so that any amount it allows is one the engine takes (REQUEST_MAX_MICROS
below; 13 digits would allow 9.9e18 micro-credits, past the store's 2**63 - 1)."""

PositiveCreditsText = Annotated[
    StrictStr,
    Field(
        pattern=f"^{_ABOVE_ZERO}$",
        max_length=21,
        description="Credits above zero, an exact decimal string (at most 6 decimals).",
        examples=["12.5"],
    ),
]
SignedCreditsText = Annotated[
    StrictStr,
    Field(
        pattern=f"^-?{_ABOVE_ZERO}$",
        max_length=22,
        description="Credits, an exact decimal string, negative to take credits (not zero).",
        examples=["-2.5"],
    ),
]


def whole(value: Any) -> Any:
    """An integral decimal (``197.0``, which JSON Schema counts as an integer) as an int."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


REQUEST_MAX_MICROS = 10**18
"""The largest ``amount_micros`` a request takes (a trillion credits). The store holds up
to 2**63 - 1; the document states this bound instead because an OpenAPI number is read
as a double, which cannot hold 2**63 - 1 (it becomes 2**63) but holds 10**18 exactly."""

MicrosIn = Annotated[
    Annotated[
        StrictInt,
        Field(
            ge=1,
            le=REQUEST_MAX_MICROS,
            description="Micro-credits, an integer.",
            examples=[12_500_000],
        ),
    ],
    BeforeValidator(whole),
]


_ISO_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def time_text(value: Any) -> Any:
    """A time in a request is ISO 8601 text: a number (or a numeral) is not read as a
    Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("must be an ISO 8601 time with a zone (2026-01-05T10:00:00Z)")
    return value


TimeIn = Annotated[AwareDatetime, BeforeValidator(time_text)]
TimeQuery = Annotated[datetime, BeforeValidator(time_text)]


def plain(value: Any) -> Any:
    """JSON as stored: exact decimal numbers as their text (JSON columns have no decimals)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(plain),
    Field(description="Free-form JSON, kept with the record.", examples=[{"ticket": "T-42"}]),
]
StrictDecimal = Annotated[Decimal, Strict()]
QuantityIn = StrictInt | StrictDecimal | Annotated[StrictStr, Field(max_length=100)]
Quantities = Annotated[
    dict[Annotated[str, Field(max_length=100)], QuantityIn],
    Field(max_length=100, examples=[{"attributes": 3}]),
]
Dimensions = Annotated[
    dict[Annotated[str, Field(max_length=100)], Annotated[StrictStr, Field(max_length=200)]],
    Field(max_length=100, examples=[{"mode": "Business", "delivery": "Standard"}]),
]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Za-z]{3}$", examples=["EUR"])]

_FORBID = ConfigDict(extra="forbid")


def _iso(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


Answer = TypeVar("Answer", bound=BaseModel)


def answer(model: type[Answer], record: object, **given: Any) -> Answer:
    """``model`` answering ``record``: each field the value ``given`` for it, or else the
    record's attribute of the same name (an enum as its value, a tuple as a list)."""
    fields = [name for name in model.model_fields if name not in given]
    return model(**{name: _answered(getattr(record, name)) for name in fields}, **given)


def _answered(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_answered(item) for item in value]
    return value


def _credits(name: str, micros: int) -> dict[str, Any]:
    return {name: format_credits(micros), f"{name}_micros": micros}


def micros_of(text: str | None, micros: int | None) -> int | None:
    """An amount given as decimal credits (``text``) or in micro-credits, in micro-credits
    (``None``: neither is given)."""
    if micros is not None:
        return micros
    return None if text is None else parse_credits(text)


def at_most_one_given(model: BaseModel, *names: str) -> None:
    """Refuse ``model`` (a 422) when more than one of the fields ``names`` is given."""
    if sum(getattr(model, name) is not None for name in names) > 1:
        *first, last = names
        raise ValueError(f"give at most one of {', '.join(first)} or {last}")


class _Amount(Ruled, BaseModel):
    """A request amount: ``amount`` (decimal credits) or ``amount_micros``, exactly one (a
    subclass may type them otherwise: an adjustment's may be negative)."""

    model_config = _FORBID
    schema_rules: ClassVar[dict[str, Any]] = exactly_one("amount", "amount_micros")

    amount: PositiveCreditsText | None = None
    amount_micros: MicrosIn | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.amount is None) == (self.amount_micros is None):
            raise ValueError("give exactly one of amount (decimal credits) or amount_micros")
        return self

    @property
    def micros(self) -> int:
        micros = micros_of(self.amount, self.amount_micros)
        assert micros is not None
        return micros


class _PackOrAmount(Ruled, BaseModel):
    """Credits to buy or to ask sales for: a pack of the catalogue, or an amount given as
    ``amount`` (decimal credits) or ``amount_micros``. A subclass types and describes
    ``pack`` and ``amount`` (they keep their places, first) and names in ``exclusive`` the
    fields of which at most one may be given."""

    exclusive: ClassVar[tuple[str, ...]] = ("amount", "amount_micros")

    pack: str | None = None
    amount: PositiveCreditsText | None = None
    amount_micros: MicrosIn | None = None

    @model_validator(mode="after")
    def _what(self) -> Self:
        at_most_one_given(self, *self.exclusive)
        return self

    @property
    def micros(self) -> int | None:
        return micros_of(self.amount, self.amount_micros)


class CauseIn(BaseModel):
    model_config = _FORBID
    type: CauseType
    ref: Annotated[StrictStr, Field(min_length=1, max_length=200)]


class CauseOut(BaseModel):
    type: str
    ref: str


class MoneyOut(BaseModel):
    minor: int = Field(description="Whole minor units (cents).")
    currency: str


def _money(money: Money) -> MoneyOut:
    return MoneyOut(minor=money.minor, currency=money.currency)


_DIMENSIONS_NEED_OPERATION = {
    "not": {
        "required": ["dimensions"],
        "properties": {"dimensions": {"not": {"type": "null"}}, "operation": {"type": "null"}},
    }
}
"""Dimensions say more about an operation: given without one, the request is refused."""


class ProblemOut(BaseModel):
    """RFC 9457 problem details; extension members (``errors``, ``needed``, ``rule``...)
    depend on the type."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
