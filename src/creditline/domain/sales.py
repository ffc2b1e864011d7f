"""Contact-sales requests: what an organization that cannot buy self-serve asks for
(requirement D8, seed 000: "If purchasing credits is not available in your country
yet, please click Contact Sales to discuss your options").

A **contact-sales request** records who asked (the organization; the member, when a
person asked from the portal), what they would like to buy (a pack of the catalogue,
an amount of credits, or neither: "talk to me about an enterprise plan"), their
message and a reply address, with the organization's country at the time. It is
stored, listed for the operator, and announced as a ``sales.contact_requested`` event:
signed to the operator's webhook endpoints (those of no organization) and e-mailed to
the platform's sales address, through the same outbox as the alerts (retries, delivery
log). Nothing is bought and no checkout is opened: a salesperson takes it from there.

Payload (Standard Webhooks shape, like the alerts')::

    {"type": "sales.contact_requested", "timestamp": "2026-03-01T09:00:00+00:00",
     "data": {"request_id": "csr_...", "org_id": "org_...", "org_name": "Acme",
              "country": "DE", "member_id": "mem_...", "email": "ada@acme.example",
              "pack": "explorer", "credits_micros": null, "credits": null,
              "message": "...", "source": "portal", "created_at": "..."}}
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS, format_credits
from creditline.domain.errors import InvalidAmount, InvalidSetting

__all__ = [
    "CONTACT_REQUESTED",
    "MAX_MESSAGE",
    "SalesRequest",
    "SalesRequestSource",
    "check_request",
    "email_message",
    "parse_sales_email",
    "parse_source",
]

CONTACT_REQUESTED = "sales.contact_requested"
"""The event type a contact-sales request is announced as."""

MAX_MESSAGE = 4000
"""The longest message a request may carry, in characters."""

EMAIL_PATTERN = r"^[^@\x00-\x20\x7f-\xa0]+@[^@\x00-\x20\x7f-\xa0]+\.[^@\x00-\x20\x7f-\xa0]+$"
"""A reply address: text, ``@``, a domain with a dot; no spaces or control characters.
Spelled with explicit ranges (not ``\\s``), which every regular-expression engine reads
alike: the API's schema states the same pattern, and clients generate from it."""

_EMAIL = re.compile(EMAIL_PATTERN)


class SalesRequestSource(enum.StrEnum):
    """Where a request was made: the customer portal, or the API (library, client, CLI)."""

    PORTAL = "portal"
    API = "api"


def parse_source(value: str) -> SalesRequestSource:
    """Where a request was made, from its name (``"portal"`` or ``"api"``).

    Raises:
        InvalidSetting: neither.
    """
    try:
        return SalesRequestSource(value)
    except ValueError:
        raise InvalidSetting("source", value, "portal or api") from None


def parse_sales_email(value: str | None) -> str | None:
    """The sales address, checked (blank: none).

    Raises:
        InvalidSetting: not an e-mail address.
    """
    text = (value or "").strip()
    if not text:
        return None
    if "@" not in text or len(text) > 320 or any(c.isspace() for c in text):
        raise InvalidSetting("sales e-mail", text, "not an e-mail address")
    return text


@dataclass(frozen=True, slots=True)
class SalesRequest:
    """A recorded contact-sales request (see the module docstring).

    Attributes:
        id: ``csr_...``.
        org_id: the organization asking.
        country: its country when it asked (``None``: not given).
        member_id: the member who asked (from the portal), if any.
        email: where to answer, if known (given, or the member's address).
        pack: the pack of the catalogue it would buy, if any.
        credits: or the amount of credits, in micro-credits, if any.
        message: its words (may be empty).
        source: ``portal`` or ``api``.
        created_at: when it was recorded.
    """

    id: str
    org_id: str
    country: str | None
    member_id: str | None
    email: str | None
    pack: str | None
    credits: int | None
    message: str
    source: SalesRequestSource
    created_at: datetime

    def payload(self, org_name: str) -> dict[str, Any]:
        """The event's Standard Webhooks payload: ``type``, ``timestamp``, ``data``."""
        return {
            "type": CONTACT_REQUESTED,
            "timestamp": _iso(self.created_at),
            "data": {
                "request_id": self.id,
                "org_id": self.org_id,
                "org_name": org_name,
                "country": self.country,
                "member_id": self.member_id,
                "email": self.email,
                "pack": self.pack,
                "credits_micros": self.credits,
                "credits": None if self.credits is None else format_credits(self.credits),
                "message": self.message,
                "source": self.source.value,
                "created_at": _iso(self.created_at),
            },
        }

    def wants(self) -> str:
        """What it asks about, in words."""
        if self.pack is not None:
            return f"the {self.pack} pack"
        if self.credits is not None:
            return f"{format_credits(self.credits)} credits"
        return "buying credits"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def check_request(
    pack: str | None, credits: int | None, message: str | None, email: str | None
) -> tuple[str | None, int | None, str, str | None]:
    """A request's pack, amount, message and address, checked and tidied.

    Raises:
        InvalidSetting: a pack and an amount both; a blank pack name; a message over
            :data:`MAX_MESSAGE` characters; an address that is not an e-mail address.
        InvalidAmount: an amount that is not a positive integer of micro-credits.
    """
    if pack is not None and credits is not None:
        raise InvalidSetting("contact sales", pack, "give a pack or an amount, not both")
    if pack is not None:
        if not isinstance(pack, str) or not pack.strip() or len(pack) > 100:
            raise InvalidSetting("pack", pack, "a pack's name, 1 to 100 characters")
        pack = pack.strip()
    if credits is not None and (
        isinstance(credits, bool) or not isinstance(credits, int) or not 0 < credits <= MAX_MICROS
    ):
        raise InvalidAmount(credits, "an amount of credits is a positive integer of micro-credits")
    text = "" if message is None else message
    if not isinstance(text, str):
        raise InvalidSetting("message", message, "text")
    text = text.strip()
    if len(text) > MAX_MESSAGE:
        raise InvalidSetting("message", text[:20] + "...", f"at most {MAX_MESSAGE} characters")
    if email is not None:
        email = email.strip().lower() if isinstance(email, str) else email
        if not isinstance(email, str) or len(email) > 320 or not _EMAIL.match(email):
            raise InvalidSetting("email", email, "not an e-mail address")
    return pack, credits, text, email


def email_message(payload: Mapping[str, Any], org_name: str) -> tuple[str, str]:
    """The subject and plain text of the e-mail to sales, from the event's payload."""
    data: Mapping[str, Any] = payload.get("data") or {}
    name = data.get("org_name") or org_name
    subject = f"Contact sales: {name}"
    if data.get("pack"):
        wants = f"the {data['pack']} pack"
    elif data.get("credits"):
        wants = f"{data['credits']} credits"
    else:
        wants = "no pack or amount named"
    lines = [
        f"{name} asks to talk to sales ({data.get('source', '')}).",
        "",
        f"Organization: {data.get('org_id', '')}",
        f"Country: {data.get('country') or 'not given'}",
        f"Member: {data.get('member_id') or 'none'}",
        f"Reply to: {data.get('email') or 'no address given'}",
        f"Wants: {wants}",
        "",
        "Message:",
        str(data.get("message") or "(none)"),
        "",
        f"Request: {data.get('request_id', '')}",
        f"Event: {payload.get('type', '')}",
    ]
    return subject, "\n".join(lines) + "\n"
