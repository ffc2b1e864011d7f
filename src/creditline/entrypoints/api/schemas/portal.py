"""Portal sessions: links into an organization's customer portal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StrictInt

from creditline.domain.portal import PortalSession
from creditline.entrypoints.api.schemas.common import _FORBID, Ident, answer, whole


class PortalSessionCreate(BaseModel):
    """A link into the organization's customer portal (Stripe's billing-portal
    convention): the platform's backend makes one for its signed-in user and redirects
    the user to ``url``."""

    model_config = _FORBID
    member_id: Ident | None = Field(
        default=None, description="The member the session acts as (none: the organization)."
    )
    read_only: StrictBool = Field(default=False, description="A session that changes nothing.")
    ttl_seconds: Annotated[Annotated[StrictInt, Field(ge=30, le=3600)], BeforeValidator(whole)] = (
        Field(default=300, description="How long the link opens, in seconds (30 to 3600).")
    )


class PortalSessionOut(BaseModel):
    url: str = Field(description="The link to redirect the user to, on this server.")
    path: str = Field(description="The link's path (/portal/session/<token>).")
    token: str = Field(description="The signed token in the link.")
    expires_at: datetime = Field(description="When the link stops opening.")
    org_id: str
    member_id: str | None
    read_only: bool

    @classmethod
    def of(cls, session: PortalSession, base_url: str) -> PortalSessionOut:
        return answer(cls, session, url=base_url.rstrip("/") + session.url, path=session.url)
