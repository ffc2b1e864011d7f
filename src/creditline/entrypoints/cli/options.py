"""The arguments and options several commands share, and the parsers of their text: amounts
in decimal credits, ISO 8601 times, ``NAME=VALUE`` pairs, pipeline steps, durations.

Every parser refuses bad text with the engine's own errors (exit 2).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from creditline import CostBasis, parse_credits
from creditline.domain.errors import InvalidAmount, InvalidSetting, InvalidTime
from creditline.domain.pricing import Step
from creditline.domain.time import require_aware

__all__ = [
    "AmountArg",
    "CurrencyOption",
    "DimensionOption",
    "EventArg",
    "ForDimensionOption",
    "ForOption",
    "LimitOption",
    "MemberOption",
    "NUMBERS",
    "OperationArg",
    "OrgArg",
    "ProjectOption",
    "QuantityOption",
    "Syntax",
    "StepOption",
    "SyntaxOption",
    "file_argument",
    "file_syntax",
    "org_option",
    "parse_amount",
    "parse_cost_basis",
    "QuoteOption",
    "parse_duration",
    "parse_pairs",
    "parse_step",
    "parse_time",
    "parse_ttl",
    "read_file",
    "spend_target",
]


OrgArg = Annotated[str, typer.Argument(metavar="ORG", help="Organization id (org_...).")]
AmountArg = Annotated[
    str, typer.Argument(metavar="AMOUNT", help="Credits, a decimal number above zero: 2.5")
]


def org_option(help: str) -> Any:
    """--org ORG: an organization id (optional), described by ``help``."""
    return typer.Option("--org", metavar="ORG", help=help)


OperationArg = Annotated[str, typer.Argument(metavar="OPERATION", help="train, translate, ...")]
LimitOption = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")]
CurrencyOption = Annotated[str, typer.Option(help="ISO 4217 code to pay in: EUR, USD.")]
# A negative AMOUNT ("-5") then reaches _amount and its one-line refusal, rather than
# click taking it for an unknown option.
NUMBERS = {"ignore_unknown_options": True}


def parse_amount(text: str) -> int:
    """AMOUNT: a decimal number of credits above zero, exact to one micro-credit."""
    micros = parse_credits(text)
    if micros <= 0:
        raise InvalidAmount(text, "must be greater than zero")
    return micros


def parse_time(text: str | None, what: str) -> datetime | None:
    """An ISO 8601 timestamp with a time zone (``2026-02-01T00:00:00Z``), or None."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(
            f"{what} {text!r} is not an ISO 8601 timestamp (e.g. 2026-02-01T00:00:00Z)"
        ) from None
    return require_aware(moment, what)


def parse_cost_basis(unit_price_minor: int | None, currency: str | None) -> CostBasis | None:
    """--unit-price-minor and --currency: both or neither."""
    if unit_price_minor is None and currency is None:
        return None
    if unit_price_minor is None or currency is None:
        raise InvalidSetting(
            "cost basis", unit_price_minor or currency, "give --unit-price-minor and --currency"
        )
    return CostBasis(unit_price_minor, currency)


ForOption = Annotated[
    str | None,
    typer.Option(
        "--operation",
        metavar="OPERATION",
        help="What the credits pay for: scoped grants covering it pay first.",
    ),
]
ForDimensionOption = Annotated[
    list[str] | None,
    typer.Option("--dimension", "-d", metavar="NAME=VALUE", help="With --operation: mode=Basic"),
]


def spend_target(operation: str | None, dimension: Sequence[str] | None) -> dict[str, Any]:
    if dimension and operation is None:
        raise InvalidSetting("--dimension", dimension[0], "needs --operation")
    dims = parse_pairs(dimension, "--dimension") if dimension else None
    return {"operation": operation, "dimensions": dims}


class Syntax(enum.StrEnum):
    TOML = "toml"
    JSON = "json"


SyntaxOption = Annotated[
    Syntax | None,
    typer.Option(help="How to read FILE [by its suffix: .json is JSON, anything else TOML]."),
]


def file_syntax(file: Path, syntax: Syntax | None) -> Syntax:
    """--syntax, or else FILE's by its suffix: .json is JSON, anything else TOML."""
    return syntax or (Syntax.JSON if file.suffix.lower() == ".json" else Syntax.TOML)


def parse_pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    """``NAME=VALUE`` items as a mapping; values stay text (exact decimals, names)."""
    pairs: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidSetting(what, item, "expected NAME=VALUE")
        if name in pairs:
            raise InvalidSetting(what, item, f"{name} is given twice")
        pairs[name] = value.strip()
    return pairs


_STEP_FORM = "expected OPERATION;q=NAME=VALUE,...;d=NAME=VALUE,..."


def parse_step(spec: str) -> Step:
    """A pipeline step: ``translate;q=characters=1000000;d=model=azure-translator``."""
    operation, *parts = spec.split(";")
    found: dict[str, list[str]] = {"q": [], "d": []}
    for part in filter(str.strip, parts):
        kind, sep, rest = part.partition("=")
        if not sep or kind.strip() not in found:
            raise InvalidSetting("--step", spec, _STEP_FORM)
        found[kind.strip()] += rest.split(",")
    if not operation.strip():
        raise InvalidSetting("--step", spec, _STEP_FORM)
    return Step(
        operation.strip(),
        parse_pairs(found["q"], "--step quantity"),
        parse_pairs(found["d"], "--step dimension"),
    )


QuantityOption = Annotated[
    list[str] | None,
    typer.Option("--quantity", "-q", metavar="NAME=VALUE", help="Usage: -q minutes=12.5"),
]
DimensionOption = Annotated[
    list[str] | None,
    typer.Option("--dimension", "-d", metavar="NAME=VALUE", help="Choice: -d mode=Basic"),
]
EventArg = Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event's own id.")]
ProjectOption = Annotated[
    str | None, typer.Option(metavar="ID", help="Project id to attribute it to.")
]
MemberOption = Annotated[
    str | None, typer.Option(metavar="ID", help="Member id to attribute it to.")
]
QuoteOption = Annotated[
    str | None,
    typer.Option("--quote", metavar="ID", help="Charge a binding quote's price, once."),
]


_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta | None:
    """A span of time written ``90s``, ``30m``, ``1h`` or ``2d``; None for other text."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        return None
    return timedelta(seconds=int(found.group(1)) * _UNIT_SECONDS[found.group(2)])


def parse_ttl(text: str, option: str = "--ttl") -> timedelta:
    """A time-to-live: ``90s``, ``30m``, ``1h``, ``2d`` (a bare number is seconds)."""
    bare = text.strip()
    span = parse_duration(f"{bare}s" if bare.isdigit() else bare)
    if span is None:
        raise InvalidSetting(option, text, "a whole number and a unit: 90s, 30m, 1h, 2d")
    return span


StepOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="SPEC",
        help="A pipeline step, in order: 'OPERATION;q=NAME=VALUE,...;d=NAME=VALUE,...'",
    ),
]


def file_argument(help: str) -> Any:
    """FILE: an existing, readable file (not a folder), described by ``help``."""
    return typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True, help=help)


def read_file(file: Path, what: str) -> bytes:
    """FILE's bytes; a file that cannot be read is refused as ``what`` (exit 2)."""
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InvalidSetting(what, str(file), exc.strerror or str(exc)) from None
