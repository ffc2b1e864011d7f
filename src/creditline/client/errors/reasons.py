"""Errors rebuilt from their message alone, for a problem without members: a usage
batch's result carries only its problem type and its ``reason`` (the error's message).
This is the one place the client reads a message; every other problem is rebuilt from
its members (:mod:`creditline.client.errors.rebuild`).

Only the errors a batch event can end in are read (:data:`FROM_REASON`): a refusal
(``InsufficientCredits``, ``BudgetExceeded``, ``PlanGateRefused``) or a rejection (``InvalidUsage``,
``UnknownOperation``, ``InvalidSetting``, the ``NotFound`` family,
``IdempotencyKeyReused``); and ``OrganizationNotFound``, whose problem has no member
naming the organization (an unknown organization and another tenant's answer alike).
And ``PaymentProviderError`` (a 502), read from its message too when a problem of it
comes without its members. A message of another shape gives the class with the message
and its attributes ``None``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from creditline.domain.errors import (
    BudgetExceeded,
    CreditlineError,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidSetting,
    InvalidUsage,
    NoRateCardInForce,
    NotFound,
    PaymentProviderError,
    PlanGateRefused,
    UnknownOperation,
    WebhookUrlRefused,
)

__all__ = ["FROM_REASON", "bare", "from_reason"]

_LIT = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
"""A Python string literal (what ``{value!r}`` of a ``str`` writes)."""


_DECIMAL = re.compile(r"^Decimal\('([-+0-9.eEinfaINFAN]+)'\)$")


def _literal(text: str) -> Any:
    """A value from its ``repr``: a Python literal, or a ``Decimal``."""
    decimal = _DECIMAL.match(text)
    if decimal:
        return Decimal(decimal[1])
    return ast.literal_eval(text)


_NOT_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, ArithmeticError)


def _split_value(text: str) -> tuple[Any, str] | None:
    """``"{value!r}: {reason}"`` back into the value and the reason, if the value's
    text is a literal."""
    at = text.find(": ")
    while at != -1:
        try:
            return _literal(text[:at]), text[at + 2 :]
        except _NOT_LITERAL:
            at = text.find(": ", at + 1)
    return None


def bare(cls: type[CreditlineError], detail: str, **attributes: Any) -> CreditlineError:
    """An error of class ``cls`` whose message is ``detail``, with ``attributes`` set,
    made without its constructor (for a message that cannot be taken apart)."""
    error = cls.__new__(cls)
    Exception.__init__(error, detail)
    for name, value in attributes.items():
        setattr(error, name, value)
    return error


Read = Callable[[type[CreditlineError], str], CreditlineError | None]
"""``(class, message) -> the error``, or ``None`` for a message of another shape."""


def _insufficient(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(
        r"^insufficient credits in (\S+): needed (-?\d+) micro-credits, (-?\d+) available$",
        detail,
    )
    return InsufficientCredits(found[1], int(found[2]), int(found[3])) if found else None


def _budget(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(
        r"^budget (\S+) of (.+) exceeded: needed (-?\d+) micro-credits, (-?\d+) of "
        r"(-?\d+) used this period, -?\d+ left$",
        detail,
    )
    if found is None:
        return None
    return BudgetExceeded(found[1], found[2], int(found[5]), int(found[4]), int(found[3]))


def _gate(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(rf"^refused by plan {_LIT}, rule (.+?): (.*)$", detail, re.DOTALL)
    return PlanGateRefused(_literal(found[1]), found[2], found[3]) if found else None


def _usage(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(rf"^cannot price {_LIT}: (.*)$", detail, re.DOTALL)
    return InvalidUsage(_literal(found[1]), found[2].split("; ")) if found else None


def _unknown_operation(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(rf"^rate card (.+) has no operation {_LIT} \(it prices: (.*)\)$", detail)
    if found:
        known = found[3].split(", ") if found[3] else []
        return UnknownOperation(_literal(found[2]), found[1], known)
    return None


def _setting(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    rest = detail.removeprefix("invalid ")
    at = rest.find(" ") if detail.startswith("invalid ") else -1
    while at != -1:  # the name is not given: the first split whose value is a literal
        found = _split_value(rest[at + 1 :])
        if found is not None:
            return InvalidSetting(rest[:at], *found)
        at = rest.find(" ", at + 1)
    return None


def _url_refused(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(rf"^webhook URL {_LIT} refused: (.*)$", detail, re.DOTALL)
    return WebhookUrlRefused(_literal(found[1]), found[2].split("; ")) if found else None


def _not_found(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    kind = getattr(cls, "kind", "resource")
    found = re.match(rf"^{re.escape(kind)} {_LIT} not found$", detail)
    return cls(_literal(found[1])) if found else None


def _no_card(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(rf"^no version of rate card {_LIT} is in force at (\S+)$", detail)
    return (
        NoRateCardInForce(_literal(found[1]), datetime.fromisoformat(found[2])) if found else None
    )


def _key_reused(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(rf"^idempotency key {_LIT} was already used", detail)
    return IdempotencyKeyReused(_literal(found[1])) if found else None


def _provider(cls: type[CreditlineError], detail: str) -> CreditlineError | None:
    found = re.match(r"^([^:\s]+): (.*?)(?: \(([\w.-]+)\))?$", detail)
    return PaymentProviderError(found[1], found[2], found[3]) if found else None


FROM_REASON: dict[type[CreditlineError], Read] = {
    InsufficientCredits: _insufficient,
    BudgetExceeded: _budget,
    PlanGateRefused: _gate,
    InvalidUsage: _usage,
    UnknownOperation: _unknown_operation,
    WebhookUrlRefused: _url_refused,
    InvalidSetting: _setting,
    NoRateCardInForce: _no_card,
    NotFound: _not_found,
    IdempotencyKeyReused: _key_reused,
    PaymentProviderError: _provider,
}
"""How to read the message of each error a batch result may carry (a subclass not
listed is read as its nearest listed base class)."""


def from_reason(
    cls: type[CreditlineError], detail: str, attributes: tuple[str, ...]
) -> CreditlineError:
    """The error of class ``cls`` that ``detail`` (its message) stands for; else one with
    that message and each of ``attributes`` ``None``."""
    read = next((FROM_REASON[c] for c in cls.__mro__ if c in FROM_REASON), None)
    try:
        found = read(cls, detail) if read is not None else None
    except _NOT_LITERAL:
        found = None
    if found is not None:
        return found
    return bare(cls, detail, **dict.fromkeys(attributes))
