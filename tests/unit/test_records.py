"""Rows to records and back by name (adapters/db/records.py): each field's type chooses
its conversion, renamed and skipped fields are the repository's. No database: rows are
mappings as a driver gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest

from creditline.adapters.db.records import Codec, aware, stored_json
from creditline.domain.money import Money

T = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Thing:
    id: str
    count: int
    on: bool
    colour: Colour
    shade: Colour | None
    at: datetime
    until: datetime | None
    price: Money
    cap: Money | None
    tags: tuple[Colour, ...]
    data: dict[str, Any]
    note: str | None = None
    extra: list[int] = field(default_factory=list)


CODEC = Codec(
    Thing,
    columns={"count": "count_micros", "price": "price_minor", "cap": "cap_minor"},
    skip={"extra"},
)

ROW = {
    "id": "t_1", "count_micros": 2**62 + 1, "on": 1, "colour": "red", "shade": None,
    "at": "2026-03-01 12:30:15.123456", "until": datetime(2026, 3, 2), "price_minor": 4500,
    "cap_minor": None, "currency": "EUR", "tags": '["blue","red"]', "data": '{"a":1}',
    "note": None,
}  # fmt: skip


def test_a_row_decodes_by_name_with_each_fields_conversion() -> None:
    thing = CODEC.decode(ROW, extra=[1])
    assert thing == Thing(
        id="t_1", count=2**62 + 1, on=True, colour=Colour.RED, shade=None, at=T,
        until=datetime(2026, 3, 2, tzinfo=UTC), price=Money(4500, "EUR"), cap=None,
        tags=(Colour.BLUE, Colour.RED), data={"a": 1}, extra=[1],
    )  # fmt: skip
    assert type(thing.count) is int and type(thing.on) is bool


def test_a_record_encodes_to_its_columns() -> None:
    thing = CODEC.decode(ROW, extra=[])
    assert CODEC.encode(thing) == {
        "id": "t_1", "count_micros": 2**62 + 1, "on": True, "colour": "red", "shade": None,
        "at": T, "until": datetime(2026, 3, 2, tzinfo=UTC), "price_minor": 4500,
        "currency": "EUR", "cap_minor": None, "tags": ["blue", "red"], "data": {"a": 1},
        "note": None,
    }  # fmt: skip


def test_encode_takes_the_fields_named_or_all_but_those_without() -> None:
    thing = CODEC.decode(ROW, extra=[])
    assert CODEC.encode(thing, "colour", "count") == {"colour": "red", "count_micros": 2**62 + 1}
    assert set(CODEC.encode(thing, without={"id", "price"})) == {
        "count_micros", "on", "colour", "shade", "at", "until", "cap_minor", "tags", "data",
        "note",
    }  # fmt: skip


@dataclass(frozen=True)
class Capped:
    currency: str
    cap: Money | None


def test_a_money_field_leaves_the_currency_to_a_field_of_its_own() -> None:
    codec = Codec(Capped, columns={"cap": "cap_minor"})
    assert codec.decode({"currency": "USD", "cap_minor": 7}) == Capped("USD", Money(7, "USD"))
    assert codec.encode(Capped("USD", None)) == {"currency": "USD", "cap_minor": None}


def test_a_field_of_no_stored_form_must_be_skipped() -> None:
    with pytest.raises(TypeError, match="skip the field"):
        Codec(Thing)


def test_aware_reads_every_stored_form_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert aware("2026-03-01 12:30:15.123456") == T
    assert aware(T.replace(tzinfo=None)) == T
    assert aware(T.astimezone(plus_two)).tzinfo is UTC
    assert stored_json("[1]") == [1] and stored_json([1]) == [1]
