"""JSON bodies as every way in reads them: exact numbers and a bounded depth.

Every request body and every line of an import is read by :func:`loads` (or checked by
:func:`check_depth` first, where another decoder reads it), so that:

- numbers are exact: integers as ``int``, the others as ``Decimal`` (never ``float``);
  ``NaN`` and ``Infinity`` are refused;
- nothing is nested deeper than :data:`MAX_DEPTH` arrays and objects. No event, amount
  or document of creditline needs more than a few levels; a body nested a thousand deep
  would otherwise exhaust the decoder's (or a later walk's) recursion and answer 500.

Whatever the decoder, a body that breaks either rule raises a :class:`ValueError`
(:class:`BodyTooDeep` for the depth), which the API answers as 400 and the import
reports as a bad line.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["MAX_DEPTH", "BodyTooDeep", "check_depth", "loads"]

MAX_DEPTH = 32
"""How deep arrays and objects may nest in a body (``[[1]]`` is 2 deep)."""

# Brackets of both kinds as ``[`` and ``]`` (a mismatched pair is no JSON anyway), quotes
# kept, every other byte dropped.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_OTHERS = bytes(b for b in range(256) if b not in b'[]{}"')


class BodyTooDeep(ValueError):
    """A JSON body nested deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"nested deeper than {limit} levels of arrays and objects")
        self.limit = limit


def check_depth(body: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`BodyTooDeep` when the JSON text ``body`` nests arrays and objects
    deeper than ``limit``; a body that is not JSON at all is left to its decoder.

    No recursion, and only C-speed byte operations, at most ``limit`` passes: escapes
    and then strings are dropped (a bracket inside a string does not count), leaving
    the brackets alone; then each pass removes the innermost level of pairs.
    """
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = data.translate(_BRACKETS, _OTHERS)
    if b'"' in data:
        data = b"".join(data.split(b'"')[::2])  # what lies between strings
    if b"[" * (limit + 1) in data:
        raise BodyTooDeep(limit)
    for _ in range(limit):
        shorter = data.replace(b"[]", b"")
        if not shorter or len(shorter) == len(data):
            return  # all paired up within the limit, or no JSON (its decoder will say)
        data = shorter
    raise BodyTooDeep(limit)


_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def loads(body: bytes | str, limit: int = MAX_DEPTH) -> Any:
    """Decode a JSON body exactly (``int`` and ``Decimal``), at most ``limit`` deep.

    One decoder (msgspec's, numbers read from their text) serves every way in: the
    API's bodies, CloudEvents and the JSON-lines import.

    Raises:
        BodyTooDeep: nested deeper than ``limit``.
        ValueError: not JSON, not UTF-8, ``NaN``/``Infinity``, or an integer too long.
    """
    check_depth(body, limit)
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise _explained(body, exc) from None
    except RecursionError:  # a limit above the interpreter's own
        raise BodyTooDeep(limit) from None


def _explained(body: bytes | str, exc: msgspec.DecodeError) -> ValueError:
    """The error of a body that is not JSON, naming the line and column where the
    standard library's reader can (it runs on this failure path only)."""
    try:
        json.loads(body, parse_constant=_refuse)
    except json.JSONDecodeError as precise:
        return precise
    except ValueError as constant:
        return constant
    return ValueError(str(exc))


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")
