"""Organizations, their projects and members."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.organizations import Member, Organization, Project


def organization(d: Doc) -> Organization:
    return record(Organization, d)


def project(d: Doc) -> Project:
    return record(Project, d)


def member(d: Doc) -> Member:
    return record(Member, d)
