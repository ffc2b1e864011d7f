"""Comparing what the embedded engine and the client answer: the same types and values,
ids and instants aside.

:class:`Canon` turns a result into plain data: dataclasses and named tuples into
``(type name, {field: value})``, errors into ``(type name, message, attributes)``, each
id into the n-th id it has seen (``<id1>``, so that a grant's id and the allocation
naming it must still agree), every instant into ``<time>``. The fields the service's
answers do not carry (:mod:`creditline.client.decode`) are left out.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from creditline import LedgerEntry

ID = re.compile(
    r"\b(?:org|grt|res|prj|mem|pur|inv|rcp|ub|dbt|alr|msg|whe|key|csr|qt|bgt)_[a-z2-7]{10,}\b"
)
NOT_CARRIED = {"seq", "holds", "request_hash", "entry_count", "__notes__"}


class Canon:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def _id(self, match: re.Match[str]) -> str:
        return self.ids.setdefault(match[0], f"<id{len(self.ids) + 1}>")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, BaseException):
            attributes = {k: v for k, v in vars(value).items() if k not in NOT_CARRIED}
            return ("error", type(value).__name__, self(str(value)), self(attributes))
        if isinstance(value, enum.Enum):
            return (type(value).__name__, value.value)
        if isinstance(value, str):
            return ID.sub(self._id, value)
        if isinstance(value, datetime):
            return "<time>"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {
                f.name: self(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.compare and f.name not in NOT_CARRIED
            }
            if isinstance(value, LedgerEntry):  # ids count across every organization
                fields["id"] = self.ids.setdefault(f"entry {value.id}", f"<id{len(self.ids) + 1}>")
            return (type(value).__name__, fields)
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            named = {k: self(v) for k, v in value._asdict().items() if k not in NOT_CARRIED}
            return (type(value).__name__, named)
        if isinstance(value, Mapping):
            return {_frozen(self(k)): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple | frozenset | set):
            items = [self(v) for v in value]
            return items if isinstance(value, list | tuple) else sorted(items, key=repr)
        return value


def _frozen(value: Any) -> Any:
    """A canonical value as a mapping key."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((k, _frozen(v)) for k, v in value.items()), key=repr))
    return value


def outcome(call: Any) -> Any:
    """What a call returned, or the error it raised."""
    try:
        return call()
    except Exception as error:
        return error
