"""Organizations, their projects and members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from creditline.client import decode
from creditline.client._wire import Flow, get, op, post
from creditline.client.operations._flows import read_org
from creditline.client.operations._requests import (
    compact,
    country_code,
    fetch,
    fetch_each,
    org_get,
    org_patch,
    org_post,
    query_params,
)
from creditline.domain.errors import InvalidSetting
from creditline.domain.organizations import Member, Organization, Project

ORGS_PAGE = 500
"""The most organizations the service answers in one page."""


class OrganizationOperations:
    """Organizations, their projects and members."""

    @op
    def create_org(
        self,
        name: str,
        external_ref: str | None = None,
        consumption_order: str | Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        country: str | None = None,
    ) -> Flow[Organization]:
        """Create an organization with a zero balance (operator)."""
        order: list[str] | None = None
        if isinstance(consumption_order, str):
            order = [k.strip() for k in consumption_order.split(",") if k.strip()]
        elif consumption_order is not None:
            order = [str(k) for k in consumption_order]
        body = compact(
            name=name,
            external_ref=external_ref,
            consumption_order=order,
            metadata=metadata,
            country=country_code(country),
        )
        return (yield from fetch(decode.organization, post("/v1/orgs", body)))

    @op
    def update_org(
        self,
        org_id: str,
        *,
        name: str | None = None,
        country: str | None = None,
        clear_country: bool = False,
    ) -> Flow[Organization]:
        """Change an organization's name or country (operator)."""
        if clear_country and country is not None:
            raise InvalidSetting("country", country, "give a country or clear it, not both")
        body: dict[str, Any] = compact(name=name, country=country_code(country))
        if clear_country:
            body["country"] = None
        return (yield from fetch(decode.organization, org_patch(org_id, "", body)))

    @op
    def get_org(self, org_id: str) -> Flow[Organization]:
        return (yield from read_org(org_id))

    @op
    def list_orgs(self, limit: int = 100, after_id: str | None = None) -> Flow[list[Organization]]:
        """Organizations by id, ``limit`` at most, after ``after_id`` (an organization's
        key sees only its own)."""
        found: list[Organization] = []
        cursor = after_id
        while len(found) < limit:
            size = min(limit - len(found), ORGS_PAGE)
            reply = yield get("/v1/orgs", query_params(limit=size, cursor=cursor))
            page = reply.json()
            found.extend(decode.organization(o) for o in page["items"])
            cursor = page["next_cursor"]
            if cursor is None or len(page["items"]) < size:
                break
        return found

    @op
    def create_project(self, org_id: str, name: str) -> Flow[Project]:
        return (yield from fetch(decode.project, org_post(org_id, "/projects", {"name": name})))

    @op
    def add_member(self, org_id: str, name: str, email: str | None = None) -> Flow[Member]:
        body = compact(name=name, email=email)
        return (yield from fetch(decode.member, org_post(org_id, "/members", body)))

    @op
    def projects(self, org_id: str) -> Flow[list[Project]]:
        return (yield from fetch_each(decode.project, org_get(org_id, "/projects")))

    @op
    def members(self, org_id: str) -> Flow[list[Member]]:
        return (yield from fetch_each(decode.member, org_get(org_id, "/members")))
