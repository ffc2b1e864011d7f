"""The engine's organizations: creating, renaming and reading them, their projects and members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from creditline.domain.errors import OrganizationNotFound
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, GrantKind
from creditline.domain.organizations import Member, Organization, Project
from creditline.facade.core import Core
from creditline.services.organizations import (
    AddMember,
    CreateOrganization,
    CreateProject,
    UpdateOrganization,
    add_member,
    create_organization,
    create_project,
    update_organization,
)
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["Organizations"]


class Organizations(Core):
    """Organizations, their projects and members."""

    def create_org(
        self,
        name: str,
        external_ref: str | None = None,
        consumption_order: str | Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        country: str | None = None,
    ) -> Organization:
        """Create an organization with a zero balance; ``country`` (an ISO 3166-1 alpha-2
        code) decides whether it can buy credits self-serve (:meth:`self_serve`)."""
        order: str | list[str] | tuple[GrantKind, ...] = DEFAULT_CONSUMPTION_ORDER
        if isinstance(consumption_order, str):
            order = consumption_order
        elif consumption_order is not None:
            order = list(consumption_order)
        cmd = CreateOrganization(name, external_ref, order, metadata or {}, country)
        return self._run(lambda: create_organization(cmd, self._uow(), self.clock))

    def update_org(
        self,
        org_id: str,
        *,
        name: str | None = None,
        country: str | None = None,
        clear_country: bool = False,
    ) -> Organization:
        """Change an organization's name or country (``None``: unchanged;
        ``clear_country``: no country any more).

        Raises:
            InvalidSetting: a bad name or country code. OrganizationNotFound.
        """
        cmd = UpdateOrganization(org_id, name, country, clear_country)
        return self._run(lambda: update_organization(cmd, self._uow()))

    def get_org(self, org_id: str) -> Organization:
        return self._find(lambda uow: uow.orgs.get(org_id), OrganizationNotFound(org_id))

    def resolve_orgs(self, refs: Iterable[str]) -> dict[str, str]:
        """The organizations that ``refs`` name, each by its id or else by its
        ``external_ref`` (a producer's own customer key): ``{ref: org_id}``, leaving out
        the refs that name none."""
        wanted = set(refs)

        def read(uow: UnitOfWork) -> dict[str, str]:
            found = {}
            for ref in wanted:
                org = uow.orgs.get(ref) or uow.orgs.get_by_external_ref(ref)
                if org is not None:
                    found[ref] = org.id
            return found

        return self._tx(read, read_only=True) if wanted else {}

    def list_orgs(self, limit: int = 100, after_id: str | None = None) -> list[Organization]:
        return self._tx(lambda uow: uow.orgs.page(limit, after_id), read_only=True)

    def create_project(self, org_id: str, name: str) -> Project:
        cmd = CreateProject(org_id, name)
        return self._run(lambda: create_project(cmd, self._uow(), self.clock))

    def add_member(self, org_id: str, name: str, email: str | None = None) -> Member:
        cmd = AddMember(org_id, name, email)
        return self._run(lambda: add_member(cmd, self._uow(), self.clock))

    def projects(self, org_id: str) -> list[Project]:
        self.get_org(org_id)
        with self._uow(read_only=True) as uow:
            return uow.orgs.projects(org_id)

    def members(self, org_id: str) -> list[Member]:
        self.get_org(org_id)
        with self._uow(read_only=True) as uow:
            return uow.orgs.members(org_id)
