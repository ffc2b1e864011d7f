"""The CLI's shared helpers: durations, a file's syntax, credit fields, tables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from creditline import Cause, CauseType, GrantSource, SourceType
from creditline.domain.errors import InvalidSetting
from creditline.domain.spending import Allocation
from creditline.entrypoints.cli.options import Syntax, file_syntax, parse_duration, parse_ttl
from creditline.entrypoints.cli.views.base import (
    allocations_data,
    allocations_table,
    cause_data,
    credit_fields,
    new_table,
)


@pytest.mark.parametrize(
    ("text", "span"),
    [("90s", 90), ("30m", 1800), (" 1h ", 3600), ("2d", 172800), ("0s", 0)],
)
def test_a_duration_is_a_whole_number_and_a_unit(text: str, span: int) -> None:
    assert parse_duration(text) == timedelta(seconds=span)


@pytest.mark.parametrize("text", ["90", "1.5h", "h", "", "2w", "-1h", "2026-02-01T00:00:00Z"])
def test_other_text_is_no_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_a_ttl_may_be_bare_seconds_and_nothing_else() -> None:
    assert parse_ttl("90") == timedelta(seconds=90)
    assert parse_ttl("1h") == timedelta(hours=1)
    for bad in ("", "1.5h", "h", "2w"):
        with pytest.raises(InvalidSetting):
            parse_ttl(bad)


def test_credit_fields_give_decimal_credits_and_micros_or_two_nulls() -> None:
    assert credit_fields("amount", 2_500_000) == {"amount": "2.5", "amount_micros": 2_500_000}
    assert credit_fields("credits", None) == {"credits": None, "credits_micros": None}


def test_a_table_right_aligns_credits_by_default_or_the_columns_named() -> None:
    default = new_table("t", "id", "credits", "remaining")
    assert [c.justify for c in default.columns] == ["left", "right", "right"]
    chosen = new_table("t", "id", "credits", "price", right=("price",))
    assert [c.justify for c in chosen.columns] == ["left", "left", "right"]


def test_a_files_syntax_is_the_option_or_else_its_suffix() -> None:
    assert file_syntax(Path("card.JSON"), None) is Syntax.JSON
    assert file_syntax(Path("card.toml"), None) is Syntax.TOML
    assert file_syntax(Path("card"), None) is Syntax.TOML
    assert file_syntax(Path("card.json"), Syntax.TOML) is Syntax.TOML


def test_allocations_read_as_grant_and_amount_in_json_and_in_a_table() -> None:
    paid = [Allocation("grt_a", 1_500_000), Allocation("grt_b", 2_000_000)]
    assert allocations_data(paid) == [
        {"grant_id": "grt_a", "amount": "1.5", "amount_micros": 1_500_000},
        {"grant_id": "grt_b", "amount": "2", "amount_micros": 2_000_000},
    ]
    table = allocations_table("Paid by", paid)
    assert [c.header for c in table.columns] == ["grant", "credits"]
    assert table.row_count == 2


def test_a_cause_and_a_grants_source_read_as_type_and_ref() -> None:
    assert cause_data(Cause(CauseType.OPERATOR, "manual")) == {"type": "operator", "ref": "manual"}
    assert cause_data(GrantSource(SourceType.PURCHASE, "pur_1")) == {
        "type": "purchase",
        "ref": "pur_1",
    }
