"""The field limits of a usage event: one set, whichever way the event comes in.

The usage route and its batch, CloudEvents (structured, binary and batch mode), the
JSON-lines import and the library's ``record()`` all check an event with
:meth:`creditline.domain.usage.UsageEvent.problems`, which applies these limits; the
HTTP API's schema states the same numbers.

- **Ids** (the event's id, its organization, operation, project, member and parent)
  are 1 to :data:`MAX_ID` characters. An event id is fetched back at
  ``/v1/orgs/{org}/usage/{event_id}``, so it must be addressable in a URL path: any
  printable characters (percent-encoded where a URL needs it: ``a b`` as ``a%20b``,
  ``?`` as ``%3F``) but ``/``, and neither ``.`` nor ``..``. Control characters (NUL,
  a line break, ...) are refused in every id.
- **Quantities and dimensions**: at most :data:`MAX_ENTRIES` of each (per event and
  per step); names 1 to :data:`MAX_NAME` characters; dimension values 1 to
  :data:`MAX_VALUE` characters; a quantity given as text at most :data:`MAX_NAME`
  characters.
- **Steps**: at most :data:`MAX_STEPS`.
- **Metadata** (the CloudEvents attributes kept with the event included): at most
  :data:`MAX_METADATA_BYTES` bytes as compact JSON.

A problem quotes at most a short prefix of a bad value (:func:`shown`), never the
value itself: a refused 100,000-character id is not echoed back.
"""

from __future__ import annotations

__all__ = [
    "MAX_ENTRIES",
    "MAX_ID",
    "MAX_METADATA_BYTES",
    "MAX_NAME",
    "MAX_SHOWN",
    "MAX_SOURCE",
    "MAX_STEPS",
    "MAX_VALUE",
    "addressable_id",
    "id_problem",
    "shown",
    "text_problem",
]

MAX_ID = 200
"""Characters of an id: event, organization, operation, project, member, parent."""
MAX_NAME = 100
"""Characters of a quantity's or a dimension's name, and of a quantity given as text."""
MAX_VALUE = 200
"""Characters of a dimension's value."""
MAX_ENTRIES = 100
"""Quantities, and dimensions, of an event or of one of its steps."""
MAX_STEPS = 100
"""Steps of a pipeline run."""
MAX_METADATA_BYTES = 16_384
"""Bytes of an event's metadata, as compact JSON."""
MAX_SOURCE = 1_000
"""Characters of a CloudEvent's ``source`` (a URI reference) and of each extension
attribute's value, kept in the event's metadata."""
MAX_SHOWN = 40
"""Characters of a bad value that a problem quotes."""

_UNADDRESSABLE = (".", "..")


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """A value as a problem quotes it: ``repr`` of at most ``limit`` characters of its
    text, with its length when cut (``'xxxx...' (100000 characters)``)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:limit]!r}... ({len(text)} characters)"


def text_problem(value: object, limit: int, what: str = "characters") -> str | None:
    """Why ``value`` is not a string of 1 to ``limit`` printable characters, or ``None``."""
    if not isinstance(value, str) or not value or value.isspace() or len(value) > limit:
        return f"must be 1 to {limit} {what}"
    if not value.isprintable():
        return f"must be printable (no control characters), got {shown(value)}"
    return None


def addressable_id(value: str) -> bool:
    """Whether an event id can be put in a URL path and read back unchanged."""
    return value.isprintable() and "/" not in value and value not in _UNADDRESSABLE


def id_problem(value: object, *, addressable: bool = False) -> str | None:
    """Why ``value`` is not an id (1 to :data:`MAX_ID` printable characters; with
    ``addressable``, also no ``/`` and not ``.`` or ``..``), or ``None``."""
    problem = text_problem(value, MAX_ID)
    if problem is not None or not addressable:
        return problem
    assert isinstance(value, str)
    if not addressable_id(value):
        return f"must not contain '/' nor be '.' or '..' (it names a URL), got {shown(value)}"
    return None
