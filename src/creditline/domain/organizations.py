"""Organizations, their projects and their members (requirement A1).

An organization holds the balance. Projects and members belong to exactly one
organization, and every use of credits is attributed to the organization and,
when given, to one of its projects and one of its members.

Credits never move between organizations (A2): no operation takes credits from
one organization and gives them to another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, GrantKind

__all__ = ["Member", "Organization", "Project", "parse_consumption_order", "require_name"]

MAX_NAME = 200


def require_name(value: object, what: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidSetting(what, value, "must be a non-empty string")
    if len(value) > MAX_NAME:
        raise InvalidSetting(what, value, f"must be at most {MAX_NAME} characters")
    return value.strip()


def parse_consumption_order(
    value: str | list[str] | tuple[GrantKind, ...],
) -> tuple[GrantKind, ...]:
    """Parse a consumption order ("included,prepaid,...") into grant kinds.

    Kinds left out are appended in their default order, so every kind stays spendable.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    kinds: list[GrantKind] = []
    for item in items:
        name = item.value if isinstance(item, GrantKind) else str(item).strip()
        if not name:
            continue
        try:
            kind = GrantKind(name)
        except ValueError:
            raise InvalidSetting(
                "consumption order", name, f"unknown grant kind; one of {GrantKind.names()}"
            ) from None
        if kind in kinds:
            raise InvalidSetting("consumption order", name, "listed twice")
        kinds.append(kind)
    kinds.extend(k for k in DEFAULT_CONSUMPTION_ORDER if k not in kinds)
    return tuple(kinds)


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization (workspace, account): the holder of a balance.

    Attributes:
        id: stable identifier (``org_...``).
        name: display name.
        external_ref: the platform's own id for this organization, unique when set.
        consumption_order: grant kinds in the order a debit draws from them (B2).
        created_at: when it was created (UTC).
        metadata: free-form JSON-able data.
        country: where it is, an ISO 3166-1 alpha-2 code (``None``: not given); decides
            whether it can buy credits self-serve (:mod:`creditline.domain.countries`).
    """

    id: str
    name: str
    external_ref: str | None
    consumption_order: tuple[GrantKind, ...]
    created_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    org_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    org_id: str
    name: str
    email: str | None
    created_at: datetime
