"""Notifications: e-mail through an SMTP server (receipts, D2)."""

from creditline.adapters.notify.email import SmtpMailer

__all__ = ["SmtpMailer"]
