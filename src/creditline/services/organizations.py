"""Creating organizations, their projects and their members (A1)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from creditline.domain.countries import parse_country
from creditline.domain.errors import AlreadyExists, InvalidSetting, OrganizationNotFound
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, GrantKind
from creditline.domain.organizations import (
    Member,
    Organization,
    Project,
    parse_consumption_order,
    require_name,
)
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "AddMember",
    "CreateOrganization",
    "CreateProject",
    "UpdateOrganization",
    "add_member",
    "create_organization",
    "create_project",
    "update_organization",
]


@dataclass(frozen=True, slots=True)
class CreateOrganization:
    name: str
    external_ref: str | None = None
    consumption_order: str | list[str] | tuple[GrantKind, ...] = DEFAULT_CONSUMPTION_ORDER
    metadata: dict[str, Any] = field(default_factory=dict)
    country: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateOrganization:
    """Change an organization's name and/or country; ``clear_country`` removes its
    country (``country`` must then be ``None``). Fields left ``None`` keep their value."""

    org_id: str
    name: str | None = None
    country: str | None = None
    clear_country: bool = False


@dataclass(frozen=True, slots=True)
class CreateProject:
    org_id: str
    name: str


@dataclass(frozen=True, slots=True)
class AddMember:
    org_id: str
    name: str
    email: str | None = None


def create_organization(cmd: CreateOrganization, uow: UnitOfWork, clock: Clock) -> Organization:
    name = require_name(cmd.name, "organization name")
    order = parse_consumption_order(cmd.consumption_order)
    if cmd.external_ref is not None:
        require_name(cmd.external_ref, "external reference")
    if not isinstance(cmd.metadata, dict):
        raise InvalidSetting("metadata", cmd.metadata, "must be a mapping")
    country = None if cmd.country is None else parse_country(cmd.country)
    org = Organization(
        id=new_id("org"),
        name=name,
        external_ref=cmd.external_ref,
        consumption_order=order,
        created_at=clock.now(),
        metadata=dict(cmd.metadata),
        country=country,
    )
    with uow:
        if cmd.external_ref is not None and uow.orgs.get_by_external_ref(cmd.external_ref):
            raise AlreadyExists("organization", cmd.external_ref)
        uow.orgs.add(org)
        uow.commit()
    return org


def update_organization(cmd: UpdateOrganization, uow: UnitOfWork) -> Organization:
    """Change an organization's name or country (its country decides whether it can buy
    credits self-serve: :mod:`creditline.domain.countries`).

    Raises:
        InvalidSetting: a bad name or country, or a country given with ``clear_country``.
        OrganizationNotFound: no such organization.
    """
    if cmd.clear_country and cmd.country is not None:
        raise InvalidSetting("country", cmd.country, "give a country or clear it, not both")
    name = None if cmd.name is None else require_name(cmd.name, "organization name")
    country = None if cmd.country is None else parse_country(cmd.country)
    with uow:
        org = uow.orgs.get(cmd.org_id)
        if org is None:
            raise OrganizationNotFound(cmd.org_id)
        changed = replace(
            org,
            name=name if name is not None else org.name,
            country=None if cmd.clear_country else (country or org.country),
        )
        if changed != org:
            uow.orgs.update(changed)
            uow.commit()
    return changed


def create_project(cmd: CreateProject, uow: UnitOfWork, clock: Clock) -> Project:
    project = Project(
        new_id("prj"), cmd.org_id, require_name(cmd.name, "project name"), clock.now()
    )
    with uow:
        if uow.orgs.get(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        if any(p.name == project.name for p in uow.orgs.projects(cmd.org_id)):
            raise AlreadyExists("project", project.name)
        uow.orgs.add_project(project)
        uow.commit()
    return project


def add_member(cmd: AddMember, uow: UnitOfWork, clock: Clock) -> Member:
    email = cmd.email.strip().lower() if cmd.email else None
    if email is not None and ("@" not in email or len(email) > 320):
        raise InvalidSetting("email", cmd.email, "not an e-mail address")
    member = Member(
        new_id("mem"), cmd.org_id, require_name(cmd.name, "member name"), email, clock.now()
    )
    with uow:
        if uow.orgs.get(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        if email and any(m.email == email for m in uow.orgs.members(cmd.org_id)):
            raise AlreadyExists("member", email)
        uow.orgs.add_member(member)
        uow.commit()
    return member
