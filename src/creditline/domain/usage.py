"""Usage events: what an organization's users did, to be priced and charged (C1, C7).

An event carries its own id (the idempotency key: recording the same id twice
charges once and answers with the first outcome, a refusal included), the
organization, project and member it is attributed to (A1), the operation, its
quantities (tokens, characters, minutes, attributes, bytes: exact numbers) and
dimensions (mode, delivery, model...), the time it happened, free-form metadata, and
for a pipeline run, its steps, each priced as its own operation.

An event is priced by the rate card version in force at its own timestamp, so a late
event costs what it would have cost on time. An event stamped further in the future
than :data:`MAX_CLOCK_SKEW` is refused as bad input. The time is optional: an event
sent without one is stamped with the time it was first received, and a retry of it
without a time is the same event (a duplicate answering the first outcome), never a
reused id: the missing time is read as the stored one.

What became of an event:

- ``accepted``: priced and charged; ``cost`` micro-credits.
- ``refused``: the plan's gates or the depletion policy refused it. Stored, so a
  retry gets the same refusal; nothing was charged.
- ``rejected``: bad input (unknown operation, missing or negative quantity, ...).
  Not stored: nothing at all changed, and a corrected retry can succeed.
- ``duplicate``: the id was recorded before; the first outcome is returned.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from creditline.domain import event_limits as limits
from creditline.domain.errors import CreditlineError, InvalidUsage
from creditline.domain.grace import Standing
from creditline.domain.grants import GrantKind
from creditline.domain.plans import DepletionPolicy, Plan
from creditline.domain.spending import Allocation
from creditline.domain.time import require_aware

__all__ = [
    "MAX_CLOCK_SKEW",
    "EventResult",
    "EventStatus",
    "Metering",
    "StoredUsage",
    "UsageEvent",
    "UsageStep",
    "usage_key",
]

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future an event's timestamp may be (the sender's clock may run fast)."""

MAX_ID = limits.MAX_ID
_OPTIONAL_IDS = ("project_id", "member_id", "parent_id", "quote_id")
_ID_FIELDS = ("event_id", "org_id", "operation", *_OPTIONAL_IDS)
_ADDRESSED_IDS = ("event_id", "parent_id")

Quantity = int | Decimal | str


@dataclass(frozen=True, slots=True)
class UsageStep:
    """One step of a pipeline run, priced as its own operation."""

    operation: str
    quantities: Mapping[str, Quantity] = field(default_factory=dict)
    dimensions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One usage event (see the module docstring)."""

    event_id: str
    org_id: str
    operation: str
    occurred_at: datetime | None
    quantities: Mapping[str, Quantity] = field(default_factory=dict)
    dimensions: Mapping[str, str] = field(default_factory=dict)
    project_id: str | None = None
    member_id: str | None = None
    parent_id: str | None = None
    steps: tuple[UsageStep, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    quote_id: str | None = None
    """A binding quote (:mod:`creditline.domain.quotes`): the event is charged its price."""

    def stamped(self, at: datetime) -> UsageEvent:
        """The event with ``at`` as its time (one sent without a time is stamped when it
        is first received): ``dataclasses.replace(event, occurred_at=at)``, built
        directly, at less than half its cost (the ingest hot path)."""
        return UsageEvent(
            self.event_id, self.org_id, self.operation, at, self.quantities, self.dimensions,
            self.project_id, self.member_id, self.parent_id, self.steps, self.metadata,
            self.quote_id,
        )  # fmt: skip

    @property
    def at(self) -> datetime:
        """When it happened; only for an event stamped already (stored ones always are)."""
        when = self.occurred_at
        assert when is not None, "an event without a time is stamped when first received"
        return when

    def problems(self, now: datetime) -> list[str]:
        """Every problem of the event's shape (pricing finds the rest)."""
        if self._plain(now + MAX_CLOCK_SKEW):
            return []
        found = self._id_problems() + self._time_problems(now)
        found.extend(_quantity_problems(self.quantities, "quantities"))
        found.extend(_dimension_problems(self.dimensions, "dimensions"))
        if len(self.steps) > limits.MAX_STEPS:
            found.append(f"steps: at most {limits.MAX_STEPS}, got {len(self.steps)}")
        for i, step in enumerate(self.steps[: limits.MAX_STEPS]):
            problem = limits.id_problem(step.operation)
            if problem is not None:
                found.append(f"steps[{i}].operation: {problem}")
            found.extend(_quantity_problems(step.quantities, f"steps[{i}].quantities"))
            found.extend(_dimension_problems(step.dimensions, f"steps[{i}].dimensions"))
        found.extend(_metadata_problems(self.metadata))
        return found

    def _id_problems(self) -> list[str]:
        found: list[str] = []
        for name in _ID_FIELDS:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_IDS:
                continue
            problem = limits.id_problem(value, addressable=name in _ADDRESSED_IDS)
            if problem is not None:
                found.append(f"{name}: {problem}")
        return found

    def _time_problems(self, now: datetime) -> list[str]:
        if self.occurred_at is None:  # stamped when first received
            return []
        try:
            when = require_aware(self.occurred_at, "timestamp")
        except CreditlineError as exc:
            return [f"timestamp: {exc}"]
        if when > now + MAX_CLOCK_SKEW:
            return [f"timestamp: {when.isoformat()} is in the future"]
        return []

    def _plain(self, latest: datetime) -> bool:
        """Whether the event has the usual shape and is well-formed: ids of sensible
        length, an aware timestamp no later than ``latest``, int quantities, text
        dimensions, no steps, no metadata. The ingest hot path; anything else gets the
        full check."""
        ids = (self.event_id, self.org_id, self.operation)
        for value in ids:
            if type(value) is not str or not 0 < len(value) <= MAX_ID or value.isspace():
                return False
            if not value.isprintable():
                return False
        if not limits.addressable_id(self.event_id):
            return False
        for optional in (self.project_id, self.member_id, self.parent_id):
            if optional is not None and (
                type(optional) is not str
                or not 0 < len(optional) <= MAX_ID
                or not limits.addressable_id(optional)
            ):
                return False
        when = self.occurred_at
        if when is not None and (
            type(when) is not datetime or when.tzinfo is not UTC or when > latest
        ):
            return False
        if self.steps or self.metadata or self.quote_id is not None:
            return False
        if type(self.quantities) is not dict:
            return False
        return _plain_entries(self.quantities, self.dimensions)

    def check(self, now: datetime) -> None:
        found = self.problems(now)
        if found:
            raise InvalidUsage(self.operation, found)

    def request_key(self) -> str:
        """What must match for a resent event to count as the same event, as text.

        The operation, the instant (in UTC), the quantities (by value: ``5``, ``"5"``
        and ``Decimal("5.0")`` are the same quantity), dimensions, attribution, parent
        and steps; not the metadata. Only call it on an event without problems, stamped
        with a time.
        """
        when = self.at
        if when.tzinfo is not UTC:
            when = when.astimezone(UTC)
        key = repr(
            (
                self.operation,
                when.isoformat(),
                _canonical(self.quantities),
                sorted(self.dimensions.items()) if len(self.dimensions) > 1
                else list(self.dimensions.items()),
                self.project_id,
                self.member_id,
                self.parent_id,
                [(s.operation, _canonical(s.quantities), sorted(s.dimensions.items()))
                 for s in self.steps],
            )
        )  # fmt: skip
        # A quote is part of the request, and an event without one keeps its old key.
        return key if self.quote_id is None else f"{key} quote={self.quote_id}"

    def body(self) -> dict[str, Any]:
        """Quantities, dimensions, steps and metadata in JSON form: ints stay ints, other
        quantities are exact decimal text."""
        return {
            "quantities": _json_quantities(self.quantities),
            "dimensions": dict(self.dimensions),
            "steps": [
                [s.operation, _json_quantities(s.quantities), dict(s.dimensions)]
                for s in self.steps
            ],
            "metadata": dict(self.metadata),
        }


def usage_key(
    operation: str,
    quantities: Mapping[str, Quantity],
    dimensions: Mapping[str, str],
    steps: Sequence[Any] = (),
) -> str:
    """A use of an operation by value, as text: the same for ``5``, ``"5"`` and
    ``Decimal("5.0")``, whatever the order of names. ``steps`` have an ``operation``,
    ``quantities`` and ``dimensions`` (:class:`UsageStep`, a pricing ``Step``)."""
    return repr(
        (
            operation,
            _canonical(quantities),
            sorted(dimensions.items()),
            [(s.operation, _canonical(s.quantities), sorted(s.dimensions.items()))
             for s in steps],
        )
    )  # fmt: skip


def _canonical(quantities: Mapping[str, Quantity]) -> list[tuple[str, int | str]]:
    items = [(k, v if type(v) is int else _number(v)) for k, v in quantities.items()]
    items.sort()
    return items


def _number(value: Quantity) -> int | str:
    """A quantity's canonical form: an int when it is whole, else normalized decimal text."""
    if type(value) is int:
        return value
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return int(number)
    return str(number.normalize())


def _json_quantities(quantities: Mapping[str, Quantity]) -> dict[str, int | str]:
    return {k: v if type(v) is int else str(v) for k, v in quantities.items()}


def _plain_entries(quantities: dict[str, Quantity], dimensions: Mapping[str, str]) -> bool:
    """Whether int quantities and text dimensions keep within the limits (the hot path)."""
    if type(dimensions) is not dict:
        return False
    if len(quantities) > limits.MAX_ENTRIES or len(dimensions) > limits.MAX_ENTRIES:
        return False
    for name, number in quantities.items():
        if type(number) is not int or number < 0:
            return False
        if type(name) is not str or not 0 < len(name) <= limits.MAX_NAME:
            return False
    for name, value in dimensions.items():
        if type(name) is not str or not 0 < len(name) <= limits.MAX_NAME:
            return False
        if type(value) is not str or not 0 < len(value) <= limits.MAX_VALUE:
            return False
    return True


def _at(where: str, name: object) -> str:
    """Where a quantity or dimension is: ``quantities.tokens`` (a long name cut short)."""
    if isinstance(name, str) and len(name) <= limits.MAX_NAME:
        return f"{where}.{name}"
    return f"{where}[{limits.shown(name, 20)}]"


def _entries_problems(entries: Mapping[Any, Any], where: str) -> list[str]:
    """The limits on a mapping of quantities or dimensions: its size, its names."""
    found = []
    if len(entries) > limits.MAX_ENTRIES:
        found.append(f"{where}: at most {limits.MAX_ENTRIES} entries, got {len(entries)}")
    for name in list(entries)[: limits.MAX_ENTRIES]:
        problem = limits.text_problem(name, limits.MAX_NAME)
        if problem is not None:
            found.append(f"{where}: the name {limits.shown(name)} {problem}")
    return found


def _quantity_problems(quantities: object, where: str) -> list[str]:
    if not isinstance(quantities, Mapping):
        return [f"{where}: must be a mapping of names to numbers"]
    found = _entries_problems(quantities, where)
    for name, value in list(quantities.items())[: limits.MAX_ENTRIES]:
        at = _at(where, name)
        if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            found.append(f"{at}: must be a number")
        elif isinstance(value, float):
            found.append(f"{at}: must be exact (an int or decimal text), not a float")
        elif isinstance(value, str) and len(value) > limits.MAX_NAME:
            found.append(f"{at}: a number as text is at most {limits.MAX_NAME} characters")
        elif not isinstance(value, int | Decimal | str):
            found.append(f"{at}: must be a number")
        else:
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                found.append(f"{at}: {limits.shown(value)} is not a number")
                continue
            if not number.is_finite() or number < 0:
                found.append(f"{at}: must be a finite number >= 0, got {limits.shown(value)}")
    return found


def _dimension_problems(dimensions: object, where: str) -> list[str]:
    if not isinstance(dimensions, Mapping):
        return [f"{where}: must be a mapping of names to values"]
    found = _entries_problems(dimensions, where)
    for name, value in list(dimensions.items())[: limits.MAX_ENTRIES]:
        if not isinstance(value, str) or not value:
            found.append(f"{_at(where, name)}: must be a non-empty string")
        elif len(value) > limits.MAX_VALUE:
            found.append(
                f"{_at(where, name)}: must be at most {limits.MAX_VALUE} characters, "
                f"got {len(value)}"
            )
    return found


def _metadata_problems(metadata: object) -> list[str]:
    if not isinstance(metadata, Mapping):
        return ["metadata: must be a mapping"]
    try:
        size = len(json.dumps(dict(metadata), allow_nan=False, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError) as exc:
        return [f"metadata: must be plain JSON (text, numbers, lists, maps): {exc}"]
    if size > limits.MAX_METADATA_BYTES:
        return [f"metadata: at most {limits.MAX_METADATA_BYTES} bytes as JSON, got {size}"]
    return []


class EventStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class EventResult(NamedTuple):
    """What became of one event. ``cost`` in micro-credits; ``reason`` unless accepted."""

    event_id: str
    status: EventStatus
    cost: int = 0
    reason: str | None = None
    error: CreditlineError | None = None
    rate_card: str | None = None
    components: tuple[tuple[str, int], ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status is EventStatus.ACCEPTED or (
            self.status is EventStatus.DUPLICATE and self.reason is None
        )


class StoredUsage(NamedTuple):
    """An event as stored with its outcome (accepted or refused; rejected ones are not).

    Attributes:
        event: the event as recorded (or as last amended).
        request_hash: fingerprint of the event, to tell a retry from a reused id.
        status: ``accepted``, ``refused`` or ``voided``.
        cost: micro-credits charged (0 unless accepted).
        reason: why it was refused.
        rate_card: ``name@version`` of the card that priced it.
        components: a pipeline's steps and what each cost.
        allocations: which grant paid how much.
        batch_id: the batch it was recorded in (``ub_...``): a ledger entry netting
            several events of a batch names the batch as its cause.
    """

    event: UsageEvent
    request_hash: str
    status: str
    cost: int
    reason: str | None
    rate_card: str | None
    components: tuple[tuple[str, int], ...]
    allocations: tuple[Allocation, ...]
    batch_id: str | None = None

    @property
    def event_id(self) -> str:
        return self.event.event_id


class Metering(NamedTuple):
    """What pricing and charging an organization's usage needs to know of it."""

    org_id: str
    order: tuple[GrantKind, ...]
    rate_card: str
    plan: Plan
    depletion: DepletionPolicy
    flex_enabled: bool
    entry_count: int
    hold: str | None = None
    """The overdue invoice (``INV-000042``) the organization is suspended for: every
    debit is refused, under ``depletion`` (the plan's dunning policy), until it is paid."""
    budgeted: bool = False
    """It has budgets (:mod:`creditline.domain.budgets`): its charging group loads them."""
    grace: Standing | None = None
    """Where it stands in its plan's grace (:mod:`creditline.domain.grace`), or ``None``:
    active."""
    topping_up: bool = False
    """It has an enabled automatic top-up: its charging group watches its balance cross
    the threshold (:mod:`creditline.services.topups`)."""
