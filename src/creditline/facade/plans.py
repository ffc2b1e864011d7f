"""Plans (C4, A3, A4, D6): their gates and depletion policy, and which an organization is on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditline.domain.errors import AlreadyExists, OrganizationNotFound, PlanNotFound
from creditline.domain.plans import DepletionPolicy, Plan, load_plans, parse_plan
from creditline.domain.usage import Metering
from creditline.facade.reading import Reading
from creditline.services import cycles
from creditline.services.grants import check_plan_scopes

__all__ = ["Plans"]


class Plans(Reading):
    """Plans and the organizations' metering settings."""

    def put_plan(self, plan: Plan | Mapping[str, Any]) -> Plan:
        """Store a plan (a :class:`Plan` or its document form), replacing one of its name."""
        stored = plan if isinstance(plan, Plan) else parse_plan(plan)
        self._store_plans([stored])
        return stored

    def load_plans(self, text: str | bytes) -> list[Plan]:
        """Store every plan of a TOML document of ``[[plans]]`` tables (a platform's
        ``plans.toml``) in one transaction, each replacing one of its name.

        Raises:
            InvalidSetting: listing every problem of every plan; nothing is stored.
        """
        plans = load_plans(text)
        self._store_plans(plans)
        return plans

    def _store_plans(self, plans: list[Plan], *, replace: bool = True) -> None:
        """Store ``plans`` in one transaction, each replacing one of its name, or (not
        ``replace``) raising :class:`AlreadyExists` when one of its name is stored."""

        def call() -> None:
            with self._uow() as uow:
                if not replace:
                    for plan in plans:
                        if uow.plans.get(plan.name) is not None:
                            raise AlreadyExists("plan", plan.name)
                check_plan_scopes(uow, plans)
                now = self.clock.now()
                for plan in plans:
                    uow.plans.put(plan, now)
                uow.commit()

        self._run(call)

    def plan(self, name: str) -> Plan:
        return self._find(lambda uow: uow.plans.get(name), PlanNotFound(name))

    def assign_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> Metering:
        """Put an organization on a plan, optionally with its own depletion policy and
        flex switch (``None``: the plan's).

        With ``subscribe`` the plan's billing starts too (:meth:`subscribe`). An
        organization already subscribed follows its plan either way: another plan is a
        plan change (B5), ``None`` ends the subscription.
        """
        return self.change_plan(
            org_id,
            plan,
            depletion=depletion,
            flex_enabled=flex_enabled,
            subscribe=subscribe,
            currency=currency,
        ).metering

    def change_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> cycles.PlanAssigned:
        """:meth:`assign_plan`, answering with what it did to the billing too: the
        subscription started, changed, ended or left as it was, the cycles renewed, the
        included credits reset (see :meth:`subscribe`)."""
        policy = None if depletion is None else DepletionPolicy(depletion)
        cmd = cycles.AssignPlan(org_id, plan, policy, flex_enabled, subscribe, currency)
        return self._run(lambda: cycles.assign_plan(cmd, self._uow(), self.clock))

    def metering(self, org_id: str) -> Metering:
        """The organization's rate card, plan, depletion policy and flex switch in force."""

        return self._find(
            lambda uow: uow.usage.metering([org_id]).get(org_id), OrganizationNotFound(org_id)
        )

    def is_read_only(self, org_id: str) -> bool:
        """Whether the platform should lock the organization's writes: its policy is
        ``read_only`` and it has nothing left to spend (A3), or it is suspended for an
        overdue invoice under a ``read_only`` dunning policy."""
        metering = self.metering(org_id)
        if metering.depletion is not DepletionPolicy.READ_ONLY:
            return False
        return metering.hold is not None or self.balance(org_id).available == 0

    def create_plan(self, plan: Plan | Mapping[str, Any], *, replace: bool = False) -> Plan:
        """Store a new plan (a :class:`Plan` or its document form).

        Raises:
            InvalidSetting: listing every problem of the document.
            AlreadyExists: a plan of that name is stored and ``replace`` is false.
        """
        stored = plan if isinstance(plan, Plan) else parse_plan(plan)
        self._store_plans([stored], replace=replace)
        return stored

    def plans(self) -> list[Plan]:
        """Every stored plan, by name."""

        def call() -> list[Plan]:
            with self._uow(read_only=True) as uow:
                found = [uow.plans.get(name) for name in uow.plans.names()]
            return sorted((p for p in found if p is not None), key=lambda p: p.name)

        return self._run(call)
