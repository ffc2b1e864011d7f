"""JSON in and out of the HTTP API, through msgspec: fast, and exact.

**Reading.** :func:`decode` reads every JSON number from its text: integers as ``int``
(of any size), the others as ``Decimal`` (``0.5`` is ``Decimal("0.5")``, ``1e3`` is
``Decimal("1E+3")``), never through a float. ``NaN`` and ``Infinity`` are not JSON and are
refused, and so is text that is not UTF-8 or nests too deep: each raises ``ValueError``
(the routes answer 400). It is :func:`creditline.entrypoints.exact_json.loads`, the one
decoder of every way in.

**Writing.** :func:`encode` writes ``Decimal`` as its exact text (a string) and datetimes
as RFC 3339 (``2026-01-05T10:00:00Z``, as pydantic writes them). :class:`JsonBytes` is a
response of a value it encodes (or of bytes it encoded before).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from creditline.entrypoints.exact_json import loads

__all__ = ["JsonBytes", "decode", "encode"]

_ENCODER = msgspec.json.Encoder(decimal_format="string")


def decode(body: bytes | str) -> Any:
    """The JSON value of ``body``, numbers exact (see the module docstring).

    Raises:
        ValueError: not JSON, not UTF-8, ``NaN``/``Infinity``, or nested too deep.
    """
    return loads(body)


def encode(value: Any) -> bytes:
    """``value`` as JSON bytes (``Decimal`` as exact text, datetimes as RFC 3339)."""
    return _ENCODER.encode(value)


class JsonBytes(Response):
    """A JSON response of a value encoded by :func:`encode` (or bytes made by it)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else encode(content)
