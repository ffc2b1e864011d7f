"""What the operations send: paths, request bodies and queries, checked here as the
library checks them, and the two shapes most operations share (one call, its answer
converted; one call, each item of its answer converted)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from creditline.client._wire import Call, Flow, Params, Reply, get, loads, patch, post, put, seg
from creditline.client.errors import error_from_problem
from creditline.domain.countries import parse_country
from creditline.domain.errors import CreditlineError, InvalidGrant, InvalidRateCard, InvalidSetting
from creditline.domain.grants import GrantKind
from creditline.domain.ledger import Cause
from creditline.domain.pricing import RateCard, Step
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.usage import UsageEvent, UsageStep

T = TypeVar("T")


def fetch(convert: Callable[[Any], T], call: Call) -> Flow[T]:
    """Send ``call``; its answer, converted."""
    reply = yield call
    return convert(reply.json())


def fetch_each(convert: Callable[[Any], T], call: Call) -> Flow[list[T]]:
    """Send ``call``; each item of its answer (a list), converted."""
    reply = yield call
    return [convert(item) for item in reply.json()]


def org_path(org_id: str) -> str:
    return f"/v1/orgs/{seg(org_id)}"


def scoped_path(org_id: str | None, tail: str) -> str:
    """``tail`` under the organization's routes, or under the operator's (every
    organization's) when ``org_id`` is ``None``."""
    return f"/v1{tail}" if org_id is None else f"{org_path(org_id)}{tail}"


def org_get(org_id: str | None, tail: str, params: Params = ()) -> Call:
    """GET ``tail`` under the organization's routes (the operator's when ``org_id`` is
    ``None``), about that organization."""
    return get(scoped_path(org_id, tail), params, org_id=org_id)


def org_post(
    org_id: str | None,
    tail: str,
    body: Any = None,
    *,
    key: str | None = None,
    params: Params = (),
    problems_ok: bool = False,
) -> Call:
    """POST to ``tail`` under the organization's routes (see :func:`org_get`)."""
    path = scoped_path(org_id, tail)
    return post(path, body, key=key, params=params, org_id=org_id, problems_ok=problems_ok)


def org_put(org_id: str, tail: str, body: Any) -> Call:
    """PUT ``tail`` under the organization's routes."""
    return put(scoped_path(org_id, tail), body, org_id=org_id)


def org_patch(org_id: str, tail: str, body: Any) -> Call:
    """PATCH ``tail`` under the organization's routes."""
    return patch(scoped_path(org_id, tail), body, org_id=org_id)


def compact(**fields: Any) -> dict[str, Any]:
    """A body without its ``None`` fields (the service's defaults apply)."""
    return {k: v for k, v in fields.items() if v is not None}


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def query_params(**fields: Any) -> Params:
    """A query without its ``None`` fields; a list or tuple repeats its name."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _param(item)) for item in items)
    return pairs


def cause_doc(cause: Cause | None) -> dict[str, str] | None:
    return None if cause is None else {"type": cause.type.value, "ref": cause.ref}


def quantities_doc(quantities: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if quantities is None else dict(quantities)


def steps_doc(steps: Sequence[UsageStep | Step]) -> list[dict[str, Any]] | None:
    if not steps:
        return None
    return [
        compact(
            operation=s.operation,
            quantities=dict(s.quantities) or None,
            dimensions=dict(s.dimensions) or None,
        )
        for s in steps
    ]


def event_doc(event: UsageEvent) -> dict[str, Any]:
    return compact(
        event_id=event.event_id,
        operation=event.operation,
        occurred_at=event.occurred_at,
        quantities=dict(event.quantities) or None,
        dimensions=dict(event.dimensions) or None,
        project_id=event.project_id,
        member_id=event.member_id,
        parent_id=event.parent_id,
        steps=steps_doc(event.steps),
        metadata=dict(event.metadata) or None,
        quote_id=event.quote_id,
    )


def country_code(value: str | None) -> str | None:
    """A country as the service takes it, upper case, checked as the library checks it
    (any case; :class:`InvalidSetting` for a code that is not one)."""
    return None if value is None else parse_country(value)


def scope_doc(
    value: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
) -> list[dict[str, Any]] | None:
    """A grant's scope in document form, checked here as the library checks it."""
    if value is None:
        return None
    try:
        scope = value if isinstance(value, GrantScope) else parse_scope(value)
    except InvalidSetting as exc:
        raise InvalidGrant(exc.reason.split("; ")) from None
    return scope.to_document()


def grant_kind(value: GrantKind | str) -> GrantKind:
    try:
        return GrantKind(value)
    except ValueError:
        raise InvalidSetting("grant kind", value, f"one of {GrantKind.names()}") from None


def whole_seconds(ttl: timedelta) -> int:
    if not isinstance(ttl, timedelta) or ttl.total_seconds() != int(ttl.total_seconds()):
        raise InvalidSetting("time-to-live", ttl, "the service takes a whole number of seconds")
    return int(ttl.total_seconds())


def problem_error(reply: Reply, org_id: str | None) -> CreditlineError:
    return error_from_problem(reply.json(), reply.status, org_id)


def card_doc(source: str | bytes | Mapping[str, Any] | RateCard, syntax: str) -> dict[str, Any]:
    """The body loading a rate card: its document, or its TOML text (as the library
    reads it: every problem of reading it is an :class:`InvalidRateCard`)."""
    if isinstance(source, RateCard):
        return {"document": source.to_dict()}
    if isinstance(source, Mapping):
        return {"document": dict(source)}
    try:
        text = source.decode("utf-8") if isinstance(source, bytes) else source
    except UnicodeDecodeError as exc:
        raise InvalidRateCard([f"document: not valid {syntax.upper()}: {exc}"]) from None
    if syntax == "toml":
        return {"toml": text}
    if syntax != "json":
        raise InvalidRateCard([f"syntax: must be toml or json, got {syntax!r}"])
    try:
        document = loads(text)
    except ValueError as exc:
        raise InvalidRateCard([f"document: not valid JSON: {exc}"]) from None
    if not isinstance(document, Mapping):
        raise InvalidRateCard(["document: must be a table (a JSON object)"])
    return {"document": document}


# -- flows shared by several operations -----------------------------------------------------
