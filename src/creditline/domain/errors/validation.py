"""Bad input: nothing was changed (amounts, times, settings, grants, rate cards, usage)."""

from __future__ import annotations

from creditline.domain.errors.base import ValidationError
from creditline.domain.event_limits import shown

__all__ = [
    "InvalidAmount",
    "InvalidGrant",
    "InvalidRateCard",
    "InvalidSetting",
    "InvalidTime",
    "InvalidUsage",
    "UnknownOperation",
]


class InvalidAmount(ValidationError):
    """An amount is not an exact, positive (where required), representable number."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid amount {value!r}: {reason}")


class InvalidTime(ValidationError):
    """A time is naive (no time zone) or out of order (expiry before effective time)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidSetting(ValidationError):
    """A setting (consumption order, kind, name) has a value the engine does not accept."""

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {name} {value!r}: {reason}")


class InvalidGrant(ValidationError):
    """A grant breaks one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid grant: " + "; ".join(problems))


class InvalidRateCard(ValidationError):
    """A rate card breaks one or more rules; ``problems`` lists every one of them.

    Each problem starts with where it is, as a path into the card's document
    (``operations.train.matrix.Maximum.Fast: must not be negative``).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid rate card: " + "; ".join(problems))


class InvalidUsage(ValidationError):
    """Usage that an operation's price cannot be computed from.

    A missing, negative or inexact (float) quantity, a missing dimension or an unknown
    dimension value, a value outside every multiplier band, pipeline steps that are
    missing or not allowed. ``problems`` lists every one, each naming its field
    (``quantities.attributes: 250 is outside every band (1..5, 6..20, ...)``).
    """

    def __init__(self, operation: str, problems: list[str]) -> None:
        self.operation = operation
        self.problems = problems
        super().__init__(f"cannot price {shown(operation)}: " + "; ".join(problems))


class UnknownOperation(ValidationError):
    """The rate card in force has no price for the operation asked about.

    Attributes:
        operation: the operation asked about.
        card: the rate card's name and version (``"otai 2026-01"``).
        known: the operations the card does price, sorted.
    """

    def __init__(self, operation: str, card: str, known: list[str]) -> None:
        self.operation = operation
        self.card = card
        self.known = known
        super().__init__(
            f"rate card {card} has no operation {operation!r} (it prices: {', '.join(known)})"
        )
