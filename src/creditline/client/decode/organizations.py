"""Organizations, their projects and members."""

from __future__ import annotations

from creditline.client.decode._common import Doc, when
from creditline.domain.grants import GrantKind
from creditline.domain.organizations import Member, Organization, Project


def organization(d: Doc) -> Organization:
    return Organization(
        id=d["id"],
        name=d["name"],
        external_ref=d["external_ref"],
        consumption_order=tuple(GrantKind(k) for k in d["consumption_order"]),
        created_at=when(d["created_at"]),
        metadata=dict(d["metadata"]),
        country=d.get("country"),
    )


def project(d: Doc) -> Project:
    return Project(d["id"], d["org_id"], d["name"], when(d["created_at"]))


def member(d: Doc) -> Member:
    return Member(d["id"], d["org_id"], d["name"], d["email"], when(d["created_at"]))
