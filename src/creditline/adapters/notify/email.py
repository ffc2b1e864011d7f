"""E-mail through an SMTP server (the standard library's :mod:`smtplib`).

:class:`SmtpMailer` sends a purchase's receipt as a text and HTML e-mail, and alerts
(E2) as plain text. A server that
refuses the message, or cannot be reached, is translated into
:class:`~creditline.domain.errors.NotificationFailed` here; the engine records that on
the receipt, and the purchase stands.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from creditline.adapters.documents import receipt_html, receipt_text
from creditline.domain.amounts import format_credits
from creditline.domain.errors import NotificationFailed
from creditline.domain.purchases import Receipt

__all__ = ["SmtpMailer"]


class SmtpMailer:
    """Sends receipts through one SMTP server.

    Args:
        host, port: the server.
        sender: the ``From`` address.
        username, password: log in with these, when given.
        starttls: upgrade the connection with STARTTLS before logging in.
        timeout: seconds to wait for the server.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout

    def message(self, receipt: Receipt, org_name: str) -> EmailMessage:
        """The receipt's e-mail, ready to send."""
        assert receipt.email is not None, "a receipt without an address is not e-mailed"
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = receipt.email
        message["Subject"] = (
            f"Your receipt: {format_credits(receipt.credits)} credits, {receipt.amount}"
        )
        message["Date"] = formatdate(receipt.issued_at.timestamp(), usegmt=True)
        message["Message-ID"] = make_msgid(idstring=receipt.id)
        message.set_content(receipt_text(receipt, org_name))
        message.add_alternative(receipt_html(receipt, org_name), subtype="html")
        return message

    def send_receipt(self, receipt: Receipt, org_name: str) -> None:
        """Send the receipt's e-mail.

        Raises:
            NotificationFailed: the server refused it or could not be reached.
        """
        self._send(self.message(receipt, org_name))

    def alert_message(self, to: str, subject: str, text: str) -> EmailMessage:
        """An alert's e-mail (plain text), ready to send."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid()
        message.set_content(text)
        return message

    def send_alert(self, to: str, subject: str, text: str) -> None:
        """Send an alert's e-mail (E2).

        Raises:
            NotificationFailed: the server refused it or could not be reached.
        """
        self._send(self.alert_message(to, subject, text))

    def _send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username is not None:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationFailed("email", f"{type(exc).__name__}: {exc}") from exc
