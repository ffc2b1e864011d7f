"""Grace between depletion and lock (:mod:`creditline.domain.grace`): where an
organization stands, and the history of its transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.grace import GraceTerms, GraceTransition
from creditline.entrypoints.api.schemas.common import _credits, answer
from creditline.services.grace import GraceStatus

_TRANSITION: dict[str, Any] = {
    "seq": 3,
    "org_id": "org_123",
    "from_state": "grace",
    "to_state": "read_only",
    "cause_type": "usage_event",
    "cause_ref": "evt-5",
    "at": "2026-01-01T10:00:00Z",
}


class GraceTermsOut(BaseModel):
    grace_hours: int | None = Field(description="The longest grace lasts; null: no limit.")
    grace_credits: str | None = Field(description="The most grace pays for; null: no limit.")
    grace_credits_micros: int | None
    grace_billing: str = Field(description="flex (billed with the month's flex) or write_off.")
    read_only_hours: int | None = Field(
        description="How long read-only lasts before paused; null: until credits arrive."
    )

    @classmethod
    def of(cls, terms: GraceTerms) -> GraceTermsOut:
        amount = None if terms.credits is None else _credits("grace_credits", terms.credits)
        return cls(
            grace_hours=terms.hours,
            grace_credits=None if amount is None else amount["grace_credits"],
            grace_credits_micros=terms.credits,
            grace_billing=terms.billing.value,
            read_only_hours=terms.read_only_hours,
        )


class GraceTransitionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TRANSITION]})
    seq: int | None = Field(description="Its number, in order (null: due, not yet stored).")
    org_id: str
    from_state: str
    to_state: str
    cause_type: str = Field(
        description="usage_event, debit, purchase, grant, plan_cycle, or time (a deadline)."
    )
    cause_ref: str | None = Field(
        description="The cause's id (time: grace_hours or read_only_hours)."
    )
    at: datetime = Field(description="When it took effect (a deadline's: the deadline).")


class GraceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "org_id": "org_123",
                    "state": "read_only",
                    "since": "2026-01-01T10:00:00Z",
                    "used": "0",
                    "used_micros": 0,
                    "left": None,
                    "left_micros": None,
                    "until": "2026-01-08T10:00:00Z",
                    "terms": {
                        "grace_hours": 72, "grace_credits": "50",
                        "grace_credits_micros": 50_000_000, "grace_billing": "flex",
                        "read_only_hours": 168,
                    },
                    "transitions": [_TRANSITION],
                }
            ]
        }
    )  # fmt: skip
    org_id: str
    state: str = Field(description="active, grace, read_only or paused.")
    since: datetime | None = Field(description="When it entered the state (null: active).")
    used: str = Field(description="Grace used in the current grace.")
    used_micros: int
    left: str | None = Field(description="Grace left (null: no amount limit, or not in grace).")
    left_micros: int | None
    until: datetime | None = Field(description="When the state's hours run out, if they do.")
    terms: GraceTermsOut | None = Field(description="Its plan's grace; null: none.")
    transitions: list[GraceTransitionOut] = Field(description="The last ones, oldest first.")

    @classmethod
    def of(cls, status: GraceStatus) -> GraceOut:
        s = status.standing
        left = None if status.left is None else _credits("left", status.left)
        return cls(
            org_id=status.org_id,
            state=s.state.value,
            since=s.since,
            **_credits("used", s.used),
            left=None if left is None else left["left"],
            left_micros=status.left,
            until=status.until,
            terms=None if status.terms is None else GraceTermsOut.of(status.terms),
            transitions=[_transition(t) for t in status.transitions],
        )


def _transition(moved: GraceTransition) -> GraceTransitionOut:
    return answer(GraceTransitionOut, moved)
