"""API keys and operations: the scheduler's tick, the ledger's verification, health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.api_keys import ApiKey, CapWindow, IssuedKey, Role
from creditline.entrypoints.api.schemas.common import (
    Ident,
    Name,
    PositiveCreditsText,
    TimeIn,
    _credits,
    _iso,
    answer,
    micros_of,
)

_NO_CAP = dict.fromkeys(("cap", "used", "used_micros", "room", "room_micros"))


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"role": "org", "org_id": "org_...", "name": "backend"},
                {"role": "org", "org_id": "org_...", "name": "support agent", "cap": "50",
                 "cap_window": "day", "operations": ["chat"]},
            ]
        },
    )  # fmt: skip
    role: Role
    org_id: Ident | None = None
    name: Name
    expires_at: TimeIn | None = None
    cap: PositiveCreditsText | None = Field(
        None, description="An organization's key: the most it may spend a cap_window, in credits."
    )
    cap_window: CapWindow | None = Field(
        None, description="The cap's window, a UTC day (the default) or month."
    )
    operations: Annotated[list[Name], Field(min_length=1, max_length=100)] | None = Field(
        None, description="An organization's key: the only operations it may charge."
    )

    @property
    def cap_micros(self) -> int | None:
        return micros_of(self.cap, None)


class ApiKeyOut(BaseModel):
    id: str
    org_id: str | None
    role: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    cap: str | None = Field(None, description="Its spend cap a cap_window, in credits.")
    cap_micros: int | None = None
    cap_window: str | None = Field(None, description="day or month (UTC).")
    operations: list[str] | None = Field(None, description="The only operations it may charge.")
    used: str | None = Field(None, description="Spent (or held) in the current window.")
    used_micros: int | None = None
    room: str | None = Field(None, description="What it may still spend in this window.")
    room_micros: int | None = None

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyOut:
        """The key; with a cap, what it used in the current window and its room."""
        capped: dict[str, Any] = _NO_CAP
        if k.cap_micros is not None:
            spent = k.used_micros or 0
            capped = {
                "cap": _credits("cap", k.cap_micros)["cap"],
                **_credits("used", spent),
                **_credits("room", max(0, k.cap_micros - spent)),
            }
        return answer(
            cls,
            k,
            expires_at=_iso(k.expires_at),
            revoked_at=_iso(k.revoked_at),
            last_used_at=_iso(k.last_used_at),
            **capped,
        )


class IssuedKeyOut(ApiKeyOut):
    key: str = Field(description="The key's full text: shown this once, never again.")

    @classmethod
    def issued(cls, issued: IssuedKey) -> IssuedKeyOut:
        return cls(**ApiKeyOut.of(issued.key).model_dump(), key=issued.secret)


class TickOut(BaseModel):
    at: datetime
    ok: bool
    jobs: list[dict[str, Any]]


class VerifyOut(BaseModel):
    ok: bool
    organizations: int
    grants: int
    problems: list[str]


class HealthOut(BaseModel):
    status: str
