"""API keys and operations: the scheduler's tick, the ledger's verification, health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.api_keys import ApiKey, IssuedKey, Role
from creditline.entrypoints.api.schemas.common import Ident, Name, TimeIn, _iso, answer


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "org", "org_id": "org_...", "name": "backend"}]},
    )
    role: Role
    org_id: Ident | None = None
    name: Name
    expires_at: TimeIn | None = None


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

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyOut:
        return answer(
            cls,
            k,
            expires_at=_iso(k.expires_at),
            revoked_at=_iso(k.revoked_at),
            last_used_at=_iso(k.last_used_at),
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
