"""Alerts and outgoing webhooks: alert rules, webhook endpoints and their deliveries."""

from __future__ import annotations

from creditline.domain.errors.base import NotFound, ValidationError
from creditline.domain.errors.validation import InvalidSetting

__all__ = [
    "AlertRuleNotFound",
    "InvalidAlertRule",
    "WebhookDeliveryNotFound",
    "WebhookEndpointNotFound",
    "WebhookUrlRefused",
]


class InvalidAlertRule(ValidationError):
    """An alert rule breaks one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid alert rule: " + "; ".join(problems))


class WebhookUrlRefused(InvalidSetting):
    """A webhook endpoint URL the server must not call: not http(s), with a user name or
    password, control characters, or a host that is not a public address (loopback,
    private, link-local, metadata...) or resolves to one (see
    :mod:`creditline.domain.webhook_urls`). Nothing was added; at delivery time, nothing
    was sent.

    Attributes:
        url: the URL (the message quotes at most its first 100 characters).
        problems: every problem found, each starting with where it is (``url:``,
            ``host:``).
    """

    def __init__(self, url: str, problems: list[str]) -> None:
        self.url = url
        self.problems = problems
        self.name, self.value, self.reason = "webhook URL", url, "; ".join(problems)
        shown = url if len(url) <= 100 else url[:100] + "..."
        ValidationError.__init__(self, f"webhook URL {shown!r} refused: " + "; ".join(problems))


class AlertRuleNotFound(NotFound):
    kind = "alert rule"


class WebhookEndpointNotFound(NotFound):
    kind = "webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    kind = "webhook delivery"
