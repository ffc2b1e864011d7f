"""Organizations, their projects and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.orgs import (
    MemberCreate,
    MemberOut,
    OrgCreate,
    OrgOut,
    ProjectCreate,
    ProjectOut,
)
from creditline.entrypoints.api.security import AnyKey, OperatorKey, OrgReader, OrgWriter

router = make_router("organizations")

__all__ = ["router"]


class OrgPage(BaseModel):
    items: list[OrgOut]
    next_cursor: str | None


@router.post("/v1/orgs", status_code=201, summary="Create an organization (operator)")
def create_org(*, body: OrgCreate, cl: Engine, _: OperatorKey) -> OrgOut:
    org = cl.create_org(
        body.name, body.external_ref, body.consumption_order, body.metadata, body.country
    )
    return OrgOut.of(org)


@router.get("/v1/orgs", summary="Organizations (an organization's key sees its own)")
def list_orgs(
    *,
    cl: Engine,
    who: AnyKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=40, description="next_cursor of a page.")
    ] = None,
) -> OrgPage:
    if not who.is_operator:
        assert who.org_id is not None
        return OrgPage(items=[OrgOut.of(cl.get_org(who.org_id))], next_cursor=None)
    orgs = cl.list_orgs(limit, cursor)
    return OrgPage(
        items=[OrgOut.of(o) for o in orgs],
        next_cursor=orgs[-1].id if len(orgs) == limit else None,
    )


@router.get("/v1/orgs/{org_id}", summary="One organization")
def get_org(*, scope: OrgReader, cl: Engine) -> OrgOut:
    return OrgOut.of(cl.get_org(scope.org_id))


@router.post("/v1/orgs/{org_id}/projects", status_code=201, summary="Create a project")
def create_project(*, body: ProjectCreate, scope: OrgWriter, cl: Engine) -> ProjectOut:
    return ProjectOut.of(cl.create_project(scope.org_id, body.name))


@router.get("/v1/orgs/{org_id}/projects", summary="The organization's projects")
def list_projects(*, scope: OrgReader, cl: Engine) -> list[ProjectOut]:
    return [ProjectOut.of(p) for p in cl.projects(scope.org_id)]


@router.post("/v1/orgs/{org_id}/members", status_code=201, summary="Add a member")
def add_member(*, body: MemberCreate, scope: OrgWriter, cl: Engine) -> MemberOut:
    return MemberOut.of(cl.add_member(scope.org_id, body.name, body.email))


@router.get("/v1/orgs/{org_id}/members", summary="The organization's members")
def list_members(*, scope: OrgReader, cl: Engine) -> list[MemberOut]:
    return [MemberOut.of(m) for m in cl.members(scope.org_id)]
