"""Usage events as JSON lines: the input of ``creditline usage import``.

One event per line, a JSON object, in one of two shapes (blank lines are skipped):

creditline's own::

    {"id": "run-1", "org": "org_...", "operation": "train",
     "timestamp": "2026-01-05T10:00:00Z",
     "quantities": {"attributes": 3}, "dimensions": {"mode": "Business"},
     "project": "prj_...", "member": "mem_...", "parent": "run-0",
     "steps": [{"operation": "translate", "quantities": {...}, "dimensions": {...}}],
     "metadata": {...}, "quote": "qt_..."}

``id``, ``org``, ``operation`` and ``timestamp`` (ISO 8601 with a time zone) are
required; the rest may be left out (or ``null``). ``quote`` names a binding quote the
event is charged at (:mod:`creditline.domain.quotes`).

CloudEvents 1.0, structured mode (a line with ``specversion``)::

    {"specversion": "1.0", "id": "run-1", "source": "/trainer", "type": "train",
     "subject": "org_...", "time": "2026-01-05T10:00:00Z",
     "data": {"quantities": {...}, "dimensions": {...}, "project": ..., "member": ...,
              "parent": ..., "steps": [...], "metadata": {...}}}

``type`` is the operation, ``subject`` the organization (its id, or its
``external_ref``: the caller resolves it) and ``time`` the timestamp. ``time`` may be
left out: the event then happened when it is first received, and a retry without it is
the same event. ``source`` (at most 1,000 characters) and any extension attributes are
kept in the event's metadata under ``"cloudevents"``. ``data`` may come as
``data_base64`` (what the CloudEvents SDK sends for bytes): base64 of a JSON object,
with a JSON ``datacontenttype`` or none.

A CloudEvent's ``data`` may also be *flat*, as metering producers such as OpenMeter's
clients send it: an object with none of the keys above, whose numbers (and strings that
are decimal numbers, ``"1250"``) are the quantities and whose other strings are the
dimensions: ``{"tokens": 1250, "model": "gpt-4o"}``. (A dimension whose values are
numbers needs the ``dimensions`` form.)

**Numbers are exact.** Every JSON number is read from its text as an ``int`` or a
``Decimal``, never through a float: ``0.5`` minutes is ``Decimal("0.5")``, and
``1e3`` is ``Decimal("1E+3")``. Quantities may also be decimal strings (``"0.5"``).
``NaN`` and ``Infinity`` are not JSON and are refused; so are booleans and ``null``
as quantities. Decimal numbers in metadata are kept as decimal strings (JSON has no
exact decimal type to store them as).

**Every problem of every line is reported**, as ``line N: field: problem``: text that
is not UTF-8 or not JSON, a line that is not an object, a missing required field, an
unknown field, a value of the wrong type, and whatever the event's own rules refuse
(:meth:`UsageEvent.problems`: a negative quantity, a timestamp in the future, an id
over 200 characters). Pricing problems (an unknown operation) are found when the
event is recorded: the engine rejects it then.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from creditline.domain import event_limits as limits
from creditline.domain.event_limits import shown
from creditline.domain.usage import EventResult, EventStatus, UsageEvent, UsageStep
from creditline.entrypoints import exact_json

__all__ = [
    "JSON_TYPE",
    "BadLine",
    "EventLines",
    "ImportReport",
    "parse_event",
    "parse_events",
    "with_orgs",
]

_BOM = b"\xef\xbb\xbf"
_OWN = ("id", "org", "operation", "timestamp")
_OWN_OPTIONAL = ("quantities", "dimensions", "project", "member", "parent", "steps", "metadata")
_CE_REQUIRED = ("specversion", "id", "source", "type", "subject")
_CE_KNOWN = (*_CE_REQUIRED, "time", "data", "data_base64", "datacontenttype", "dataschema")
JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)
_DATA_KEYS = _OWN_OPTIONAL
_STEP_KEYS = ("operation", "quantities", "dimensions")
# The event's own field names, as the line's fields are named in each shape.
_OWN_NAMES = {"event_id": "id", "org_id": "org", "quote_id": "quote"}
_CE_NAMES = {
    "event_id": "id",
    "org_id": "subject",
    "operation": "type",
    "timestamp": "time",
    **{name: f"data.{name}" for name in _DATA_KEYS},
}
_HEAD = re.compile(r"^[A-Za-z_]+")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a valid event, with every problem found in it."""

    line: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"line {self.line}: {'; '.join(self.problems)}"


@dataclass(frozen=True, slots=True)
class EventLines:
    """What a JSON-lines document holds: its good events (with their line numbers) and
    its bad lines. ``lines`` counts the non-blank lines read."""

    events: tuple[tuple[int, UsageEvent], ...]
    bad: tuple[BadLine, ...]
    lines: int


def parse_events(data: bytes, now: datetime) -> EventLines:
    """Read every line of ``data``; ``now`` is the time the events are checked against."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    events: list[tuple[int, UsageEvent]] = []
    bad: list[BadLine] = []
    lines = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        lines += 1
        event, problems = _parse_line(raw.removesuffix(b"\r"), now)
        if problems:
            bad.append(BadLine(number, tuple(problems)))
        elif event is not None:
            events.append((number, event))
    return EventLines(tuple(events), tuple(bad), lines)


def _decode(raw: bytes) -> tuple[Any, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start + 1})"
    try:
        return exact_json.loads(text), None
    except exact_json.BodyTooDeep as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} (column {exc.colno})"
    except ValueError as exc:  # NaN, Infinity, an integer too long to read
        return None, f"not JSON: {exc}"


def _parse_line(raw: bytes, now: datetime) -> tuple[UsageEvent | None, list[str]]:
    document, problem = _decode(raw)
    if problem is not None:
        return None, [problem]
    return parse_event(document, now)


def with_orgs(
    events: Sequence[tuple[int, UsageEvent]], orgs: Mapping[str, str]
) -> tuple[tuple[int, UsageEvent], ...]:
    """The events with each organization named by its id: ``orgs`` maps what a line
    named (an id or an ``external_ref``) to the id; an unknown name is left as it is."""
    return tuple(
        (line, event if orgs.get(event.org_id, event.org_id) == event.org_id
         else replace(event, org_id=orgs[event.org_id]))
        for line, event in events
    )  # fmt: skip


def parse_event(document: Any, now: datetime) -> tuple[UsageEvent | None, list[str]]:
    """One event from a decoded JSON value (either shape; numbers read exactly, as
    ``int`` and ``Decimal``): the event, or ``None`` and every problem found in it."""
    if not isinstance(document, dict):
        return None, [f"must be a JSON object, got {_kind(document)}"]
    fields = _Fields(document)
    if "specversion" in document:
        event, names = _cloud_event(fields, now), _CE_NAMES
    else:
        event, names = _own_event(fields, now), _OWN_NAMES
    problems = fields.problems + [_rename(p, names) for p in event.problems(now)]
    return (None, problems) if problems else (event, [])


def _own_event(fields: _Fields, now: datetime) -> UsageEvent:
    fields.unknown((*_OWN, *_OWN_OPTIONAL, "quote"))
    return UsageEvent(
        event_id=fields.text("id"),
        org_id=fields.text("org"),
        operation=fields.text("operation"),
        occurred_at=fields.time("timestamp", now),
        quantities=fields.mapping("quantities"),
        dimensions=fields.mapping("dimensions"),
        project_id=fields.optional_text("project"),
        member_id=fields.optional_text("member"),
        parent_id=fields.optional_text("parent"),
        steps=fields.steps("steps"),
        metadata=_exact(fields.mapping("metadata")),
        quote_id=fields.optional_text("quote"),
    )


def _cloud_event(fields: _Fields, now: datetime) -> UsageEvent:
    raw = fields.raw
    if raw.get("specversion") != "1.0":
        fields.problems.append(f'specversion: must be "1.0", got {shown(raw.get("specversion"))}')
    source = fields.text("source", limits.MAX_SOURCE)
    data = _Fields(_structured(_cloud_data(fields), fields), "data.")
    data.unknown(_DATA_KEYS)
    extensions = {k: v for k, v in raw.items() if k not in _CE_KNOWN}
    for name, value in extensions.items():
        if not isinstance(value, str | int | bool):
            fields.problems.append(
                f"{shown(name, 20)}: an attribute is a string, a number or true/false"
            )
        elif isinstance(value, str) and len(value) > limits.MAX_SOURCE:
            fields.problems.append(f"{_name(name)}: at most {limits.MAX_SOURCE} characters")
    cloudevents = {"source": source, **extensions}
    event = UsageEvent(
        event_id=fields.text("id"),
        org_id=fields.text("subject"),
        operation=fields.text("type"),
        # A missing time is the time the event is first received.
        occurred_at=fields.optional_time("time"),
        quantities=data.mapping("quantities"),
        dimensions=data.mapping("dimensions"),
        project_id=data.optional_text("project"),
        member_id=data.optional_text("member"),
        parent_id=data.optional_text("parent"),
        steps=data.steps("steps"),
        metadata=_exact({**data.mapping("metadata"), "cloudevents": cloudevents}),
    )
    fields.problems.extend(data.problems)
    return event


def _cloud_data(fields: _Fields) -> dict[str, Any]:
    """A CloudEvent's ``data``, or its ``data_base64`` decoded: a JSON object (the only
    data creditline can meter), or ``{}`` with a problem noted."""
    raw = fields.raw
    if "data_base64" not in raw:
        return fields.mapping("data")
    if "data" in raw:
        fields.problems.append("data_base64: give data or data_base64, not both")
        return {}
    kind = raw.get("datacontenttype")
    if kind is not None and not (isinstance(kind, str) and JSON_TYPE.match(kind)):
        fields.problems.append(
            f"datacontenttype: {shown(kind)} cannot be metered: data must be JSON"
        )
        return {}
    encoded = raw.get("data_base64")
    try:
        if not isinstance(encoded, str):
            raise ValueError("not a string")
        document = exact_json.loads(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error):
        fields.problems.append("data_base64: must be a JSON object, base64-encoded")
        return {}
    if not isinstance(document, dict):
        fields.problems.append(f"data_base64: must hold a JSON object, got {_kind(document)}")
        return {}
    return document


_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _structured(data: dict[str, Any], fields: _Fields) -> dict[str, Any]:
    """``data`` in creditline's form: as it is, or flat data made quantities (numbers,
    decimal strings) and dimensions (other strings)."""
    if not data or any(key in _DATA_KEYS for key in data):
        return data
    quantities: dict[str, Any] = {}
    dimensions: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            quantities[key] = value
        elif isinstance(value, str):
            (quantities if _DECIMAL.match(value) else dimensions)[key] = value
        else:
            fields.problems.append(
                f"data.{key}: flat data holds numbers and strings, got {_kind(value)}"
            )
    return {"quantities": quantities, "dimensions": dimensions}


class _Fields:
    """Reads a JSON object's fields, noting each problem and standing in a valid
    placeholder for a bad value (so the event's own rules can still check the rest)."""

    def __init__(self, raw: Mapping[str, Any], prefix: str = "") -> None:
        self.raw = raw
        self.prefix = prefix
        self.problems: list[str] = []

    def _note(self, key: str, problem: str) -> None:
        self.problems.append(f"{self.prefix}{key}: {problem}")

    def unknown(self, known: Sequence[str]) -> None:
        for key in self.raw:
            if key not in known:
                self._note(
                    shown(key, 20) if len(key) > 20 else key,
                    f"unknown field (known: {', '.join(known)})",
                )

    def _text(self, key: str, limit: int | None = None) -> str | None:
        value = self.raw.get(key)
        if value is None:
            self._note(key, "missing")
        elif not isinstance(value, str):
            self._note(key, f"must be a string, got {_kind(value)}")
        elif limit is not None and len(value) > limit:
            self._note(key, f"must be 1 to {limit} characters, got {len(value)}")
        else:
            return value
        return None

    def text(self, key: str, limit: int | None = None) -> str:
        """A required string (its own rules, as an id's length, are the event's);
        ``limit``: refused here when longer."""
        value = self._text(key, limit)
        return "-" if value is None else value

    def optional_text(self, key: str) -> str | None:
        return None if self.raw.get(key) is None else self.text(key)

    def time(self, key: str, placeholder: datetime) -> datetime:
        if self.raw.get(key) is None:
            self._note(key, "missing")
            return placeholder
        return self.optional_time(key) or placeholder

    def optional_time(self, key: str) -> datetime | None:
        """An ISO 8601 time with a zone, or ``None`` when left out (or not one: noted)."""
        if self.raw.get(key) is None:
            return None
        text = self._text(key)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self._note(key, f"{shown(text)} is not an ISO 8601 timestamp (2026-01-05T10:00:00Z)")
            return None
        if moment.utcoffset() is None:
            self._note(key, f"{shown(text)} needs a time zone (2026-01-05T10:00:00Z)")
            return None
        return moment

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._note(key, f"must be an object, got {_kind(value)}")
            return {}
        return value

    def steps(self, key: str) -> tuple[UsageStep, ...]:
        value = self.raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self._note(key, f"must be a list of objects, got {_kind(value)}")
            return ()
        steps = []
        for i, raw in enumerate(value):
            where = f"{self.prefix}{key}[{i}]."
            if not isinstance(raw, dict):
                self.problems.append(f"{where[:-1]}: must be an object, got {_kind(raw)}")
                continue
            step = _Fields(raw, where)
            step.unknown(_STEP_KEYS)
            steps.append(
                UsageStep(step.text("operation"), step.mapping("quantities"),
                          step.mapping("dimensions"))
            )  # fmt: skip
            self.problems.extend(step.problems)
        return tuple(steps)


def _name(key: str) -> str:
    """A field's name as a problem names it: a long one cut short."""
    return key if len(key) <= limits.MAX_NAME else shown(key, 20)


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _rename(problem: str, names: Mapping[str, str]) -> str:
    """An event rule's problem, named by the line's own field (``event_id`` -> ``id``)."""
    head = _HEAD.match(problem)
    if head is None or head.group() not in names:
        return problem
    return names[head.group()] + problem[head.end() :]


def _exact(value: Any) -> Any:
    """Metadata as stored: decimal numbers as their exact text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts by outcome, credits charged, and what went wrong.

    Attributes:
        source: the file read (``-`` for standard input).
        lines: non-blank lines read.
        bad: lines that were not valid events (skipped, or the reason nothing was sent).
        counts: events per outcome.
        charged: micro-credits charged for the accepted events.
        not_accepted: refused and rejected events (and duplicates of refused ones),
            each with its line number.
    """

    source: str
    lines: int
    bad: tuple[BadLine, ...]
    counts: dict[EventStatus, int] = field(default_factory=lambda: dict.fromkeys(EventStatus, 0))
    charged: int = 0
    not_accepted: list[tuple[int, EventResult]] = field(default_factory=list)

    def add(self, lines: Sequence[int], results: Sequence[EventResult]) -> None:
        """Count one batch's results (``lines``: each event's line number)."""
        for line, result in zip(lines, results, strict=True):
            self.counts[result.status] += 1
            if result.status is EventStatus.ACCEPTED:
                self.charged += result.cost
            if not result.accepted:
                self.not_accepted.append((line, result))

    @property
    def sent(self) -> int:
        return sum(self.counts.values())
