"""Flows shared by operations of several features: reading an organization, a plan,
and an organization's place on a plan (its metering, read-only state, subscription)."""

from __future__ import annotations

from creditline.client import decode
from creditline.client._wire import Flow, Reply, get, seg
from creditline.client.decode import OrgPlan
from creditline.domain.errors import PlanNotFound
from creditline.domain.organizations import Organization
from creditline.domain.plans import Plan

from ._requests import fetch, org_get


def read_org(org_id: str) -> Flow[Organization]:
    return (yield from fetch(decode.organization, org_get(org_id, "")))


def read_plan(name: str) -> Flow[Plan]:
    """A stored plan; a plan named but not stored has every default (as the engine's)."""
    try:
        reply = yield get(f"/v1/plans/{seg(name)}")
    except PlanNotFound:
        return Plan(name)
    return decode.plan(reply.json())


def org_plan_of(reply: Reply) -> Flow[OrgPlan]:
    answer = reply.json()
    org = yield from read_org(answer["org_id"])
    stored = yield from read_plan(answer["plan"])
    return decode.org_plan(answer, org, stored)


def read_org_plan(org_id: str) -> Flow[OrgPlan]:
    reply = yield org_get(org_id, "/plan")
    return (yield from org_plan_of(reply))
