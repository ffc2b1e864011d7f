"""Organizations, their projects and members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from creditline.domain.countries import COUNTRY_CODES
from creditline.domain.grants import GrantKind
from creditline.domain.organizations import Member, Organization, Project
from creditline.entrypoints.api.schemas.common import Metadata, Name, answer


def _assigned_country(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code (upper case: DE, US...)")
    return value


CountryCode = Annotated[
    StrictStr,
    Field(
        min_length=2,
        max_length=2,
        json_schema_extra={"enum": sorted(COUNTRY_CODES)},
        examples=["DE"],
    ),
    AfterValidator(_assigned_country),
]
"""An ISO 3166-1 alpha-2 code, upper case (the library also takes lower case)."""


class OrgCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Acme", "external_ref": "acme-42"}]},
    )
    name: Name
    external_ref: Name | None = None
    consumption_order: (
        Annotated[list[GrantKind], Field(max_length=6, json_schema_extra={"uniqueItems": True})]
        | None
    ) = Field(None, description="Grant kinds in spending order (the rest follow), each once.")
    metadata: Metadata | None = None
    country: CountryCode | None = Field(
        None, description="ISO 3166-1 alpha-2; decides whether it can buy self-serve."
    )


class OrgOut(BaseModel):
    id: str
    name: str
    external_ref: str | None
    consumption_order: list[str]
    metadata: dict[str, Any]
    created_at: datetime
    country: str | None

    @classmethod
    def of(cls, org: Organization) -> OrgOut:
        return answer(cls, org)


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "bot"}]})
    name: Name


class ProjectOut(BaseModel):
    id: str
    org_id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, p: Project) -> ProjectOut:
        return answer(cls, p)


class MemberCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Ada", "email": "ada@example.com"}]},
    )
    name: Name
    email: Annotated[StrictStr, Field(min_length=3, max_length=320, pattern="@")] | None = None


class MemberOut(BaseModel):
    id: str
    org_id: str
    name: str
    email: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        return answer(cls, m)
