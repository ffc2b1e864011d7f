"""The engine's errors rebuilt from their problems' extension members.

The service sends each error's own attributes as members of its problem, under their
names (``ident``, ``name``/``value``/``reason``, ``problems``...; see
:data:`creditline.domain.errors.ERROR_MEMBERS`): :data:`ARGUMENTS` lists them per
class, in the order of the class's constructor, which is called with them, so the error
has the message and the attributes the engine's had. A value JSON has no type for comes
with ``<name>_type`` (``decimal``, ``float``, ``datetime``, ``tuple``; ``repr``: a value
the client cannot rebuild, kept as its text).

A problem without its members (a usage batch's result: a type and a reason) is read
from its message (:mod:`creditline.client.errors.reasons`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from creditline.client.errors.reasons import bare, from_reason
from creditline.client.errors.service import InvalidRequest, RateLimited, ServiceError
from creditline.domain.errors import (
    ERROR_MEMBERS,
    CreditlineError,
    InsufficientCredits,
)

__all__ = [
    "ARGUMENTS",
    "Build",
    "insufficient",
    "invalid_request",
    "message",
    "rate_limited",
    "rebuilt",
    "service",
]

Build = Callable[[type[CreditlineError], str, Mapping[str, Any], str | None], CreditlineError]
"""``(class, detail, problem members, the call's organization) -> the error``."""

ARGUMENTS = ERROR_MEMBERS
"""Each error class's constructor arguments, as the members of its problem (the
domain's table, :data:`creditline.domain.errors.ERROR_MEMBERS`; a class not listed
takes its nearest listed base class's)."""


class _Unknown:
    """A member value the client cannot rebuild (``<name>_type`` is ``repr``)."""


_TYPES: dict[str, Callable[[Any], Any]] = {
    "decimal": lambda v: Decimal(str(v)),
    "float": float,
    "datetime": lambda v: datetime.fromisoformat(str(v)),
    "tuple": tuple,
}


def _value(body: Mapping[str, Any], name: str) -> Any:
    value, kind = body[name], body.get(f"{name}_type")
    if not kind:
        return value
    return _TYPES[kind](value) if kind in _TYPES else _Unknown


def _arguments(cls: type[CreditlineError]) -> tuple[str, ...]:
    """The arguments of the constructor of ``cls``: its members, or its nearest base
    class's when its problem sends none (``OrganizationNotFound``: read from its
    message)."""
    return next((ERROR_MEMBERS[c] for c in cls.__mro__ if ERROR_MEMBERS.get(c)), ())


def rebuilt(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    """The error of class ``cls`` made again from its members (:data:`ARGUMENTS`)."""
    names = _arguments(cls)
    if not all(name in body for name in names):
        return from_reason(cls, detail, names)
    values = {name: _value(body, name) for name in names}
    if any(value is _Unknown for value in values.values()):
        kept = {n: body[n] if v is _Unknown else v for n, v in values.items()}
        return bare(cls, detail, **kept)
    return cls(*values.values())


def message(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    """An error whose only attribute is its message (``detail``)."""
    return bare(cls, detail)


def _micros(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(f"{name}_micros")
    return value if isinstance(value, int) else None


def insufficient(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    """``InsufficientCredits`` from its ``*_micros`` members (the call's organization
    when the problem does not say it)."""
    needed, available = _micros(body, "needed"), _micros(body, "available")
    if needed is None or available is None:
        return from_reason(cls, detail, ("org_id", "needed", "available"))
    overdue = body.get("overdue_invoice")
    state, since = body.get("grace_state"), body.get("grace_since")
    return InsufficientCredits(
        str(body.get("org_id") or org or ""), needed, available,
        flex_limit=_micros(body, "flex_limit"), flex_used=_micros(body, "flex_used"),
        overdue_invoice=overdue if isinstance(overdue, str) else None,
        grace_state=state if isinstance(state, str) else None,
        grace_since=since if isinstance(since, str) else None,
    )  # fmt: skip


def service(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return ServiceError(
        int(body.get("status") or 500),
        detail,
        type=body.get("type"),
        title=body.get("title"),
        instance=body.get("instance"),
        problem=body,
    )


def invalid_request(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    errors = body.get("errors")
    listed = [dict(e) for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    return InvalidRequest(detail, listed, int(body.get("status") or 422))


def rate_limited(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    after = body.get("retry_after")
    return RateLimited(
        429,
        detail,
        retry_after=None if after is None else float(after),
        type=body.get("type"),
        title=body.get("title"),
        instance=body.get("instance"),
        problem=body,
    )
