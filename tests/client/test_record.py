"""One decoder for every record: fields read by their type hints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import pytest

from creditline.client.decode._common import decodes, record
from creditline.domain.grants import GrantKind
from creditline.domain.money import Money


class Pair(NamedTuple):
    name: str
    amount: int


@dataclass(frozen=True, slots=True)
class Doubled:
    n: int


@decodes(Doubled)
def _doubled(d: Any) -> Doubled:
    return Doubled(d["n"] * 2)


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    credits: int
    at: datetime
    day: date
    price: Money
    kind: GrantKind
    factor: Decimal
    pairs: tuple[Pair, ...]
    by_kind: dict[GrantKind, int]
    doubled: Doubled
    later: datetime | None = None
    seq: int = 0
    kept: str = "fresh"


DOC = {
    "id": "s_1",
    "credits": "1.5",
    "credits_micros": 1500000,
    "at": "2026-01-02T03:04:05.000006+00:00",
    "day": "2026-01-02",
    "price": {"minor": 1234, "currency": "EUR"},
    "kind": GrantKind.PREPAID.value,
    "factor": "1.25",
    "pairs": [{"name": "a", "amount_micros": 7}],
    "by_kind_micros": {GrantKind.PREPAID.value: 3},
    "doubled": {"n": 2},
    "later": None,
    "seq": 4,
}


def test_a_record_is_read_by_its_fields_type_hints() -> None:
    assert record(Sample, DOC) == Sample(
        id="s_1",
        credits=1500000,
        at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        day=date(2026, 1, 2),
        price=Money(1234, "EUR"),
        kind=GrantKind.PREPAID,
        factor=Decimal("1.25"),
        pairs=(Pair("a", 7),),
        by_kind={GrantKind.PREPAID: 3},
        doubled=Doubled(4),
        seq=4,
    )


def test_given_fields_are_taken_as_they_are_and_missing_ones_keep_their_default() -> None:
    found = record(Sample, {k: v for k, v in DOC.items() if k != "seq"}, kept="given")
    assert (found.seq, found.kept, found.later) == (0, "given", None)


def test_a_type_without_a_decoding_asks_for_the_field() -> None:
    @dataclass(frozen=True)
    class Odd:
        pair: tuple[str, int]

    with pytest.raises(TypeError, match="give the field"):
        record(Odd, {"pair": ["a", 1]})
