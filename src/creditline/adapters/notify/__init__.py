"""Notifications: e-mail through an SMTP server (receipts, D2), outgoing webhooks and the
address checks they make."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from creditline.adapters.notify.email import SmtpMailer

__all__ = ["SmtpMailer"]


def __getattr__(name: str) -> Any:
    # The mailer renders receipts with Jinja2: loaded on first use only.
    if name == "SmtpMailer":
        from creditline.adapters.notify.email import SmtpMailer

        return SmtpMailer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
