"""Plans (C4, A3, A4, D6) and an organization's place on one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditline.client import decode
from creditline.client._wire import Flow, get, op, post, seg
from creditline.client.decode import OrgPlan
from creditline.client.operations._flows import org_plan_of, read_org_plan
from creditline.domain.plans import DepletionPolicy, Plan, load_plans
from creditline.domain.usage import Metering

from ._requests import compact, fetch, fetch_each, org_get, org_put, query_params


def assign(
    org_id: str,
    plan: str | None,
    depletion: DepletionPolicy | str | None,
    flex_enabled: bool | None,
    subscribe: bool,
    *,
    currency: str | None = None,
) -> Flow[OrgPlan]:
    policy = None if depletion is None else DepletionPolicy(depletion)
    body = {"plan": plan, "subscribe": subscribe}
    body |= compact(depletion=policy, flex_enabled=flex_enabled, currency=currency)
    reply = yield org_put(org_id, "/plan", body)
    return (yield from org_plan_of(reply))


def store_plan(plan: Plan | Mapping[str, Any], replace: bool) -> Flow[Plan]:
    document = plan.to_dict() if isinstance(plan, Plan) else dict(plan)
    reply = yield post("/v1/plans", document, params=query_params(replace=replace))
    return decode.plan(reply.json())


class PlanOperations:
    """Plans (C4, A3, A4, D6) and an organization's place on one."""

    @op
    def put_plan(self, plan: Plan | Mapping[str, Any]) -> Flow[Plan]:
        """Store a plan, replacing one of its name (operator)."""
        return (yield from store_plan(plan, True))

    @op
    def create_plan(self, plan: Plan | Mapping[str, Any], *, replace: bool = False) -> Flow[Plan]:
        """Store a new plan (operator).

        Raises:
            AlreadyExists: a plan of that name is stored and ``replace`` is false.
        """
        return (yield from store_plan(plan, replace))

    @op
    def load_plans(self, text: str | bytes) -> Flow[list[Plan]]:
        """Store every plan of a TOML document of ``[[plans]]`` tables. Every problem is
        found before anything is sent; then each plan is one request (not, as in the
        library, one transaction)."""
        plans = load_plans(text)
        stored = []
        for plan in plans:
            stored.append((yield from store_plan(plan, True)))
        return stored

    @op
    def plan(self, name: str) -> Flow[Plan]:
        return (yield from fetch(decode.plan, get(f"/v1/plans/{seg(name)}")))

    @op
    def plans(self) -> Flow[list[Plan]]:
        return (yield from fetch_each(decode.plan, get("/v1/plans")))

    @op
    def assign_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> Flow[Metering]:
        """Put an organization on a plan (operator); see :meth:`Creditline.assign_plan`."""
        assigned = yield from assign(
            org_id, plan, depletion, flex_enabled, subscribe, currency=currency
        )
        return assigned.metering

    @op
    def change_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> Flow[OrgPlan]:
        """:meth:`assign_plan`, answering with the plan, the subscription and the
        ``change`` it made to the billing (an :class:`OrgPlan`; the library's
        ``PlanAssigned`` also lists the renewals, which the service does not answer)."""
        return (
            yield from assign(org_id, plan, depletion, flex_enabled, subscribe, currency=currency)
        )

    @op
    def subscribe(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        currency: str | None = None,
    ) -> Flow[OrgPlan]:
        """Put an organization on a plan and start its billing (operator); an
        :class:`OrgPlan` (see :meth:`change_plan`)."""
        return (yield from assign(org_id, plan, depletion, flex_enabled, True, currency=currency))

    @op
    def org_plan(self, org_id: str) -> Flow[OrgPlan]:
        """The organization's plan, policy, read-only state and subscription (the
        service's view; the library has them as :meth:`metering`, :meth:`is_read_only`
        and :meth:`subscription`)."""
        return (yield from read_org_plan(org_id))

    @op
    def metering(self, org_id: str) -> Flow[Metering]:
        """The organization's rate card, plan, depletion policy and flex switch."""
        found = yield from read_org_plan(org_id)
        return found.metering

    @op
    def is_read_only(self, org_id: str) -> Flow[bool]:
        """Whether the platform should lock the organization's writes (A3)."""
        reply = yield org_get(org_id, "/plan")
        return bool(reply.json()["read_only"])
