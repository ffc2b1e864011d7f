"""Country gating (D8): country codes, the platform's list, and who may buy self-serve."""

from __future__ import annotations

import pytest

from creditline.domain.countries import (
    COUNTRY_CODES,
    EVERYWHERE,
    SelfServeCountries,
    parse_country,
    parse_self_serve_countries,
)
from creditline.domain.errors import InvalidAmount, InvalidSetting
from creditline.domain.sales import MAX_MESSAGE, check_request


def test_every_assigned_alpha_2_code_is_known_and_only_those() -> None:
    assert len(COUNTRY_CODES) == 250  # the 249 assigned codes and XK
    assert {"US", "CA", "DE", "FR", "JP", "BR", "IN", "XK", "SS", "BQ"} <= COUNTRY_CODES
    assert not {"UK", "EU", "ZZ", "XX", "AA"} & COUNTRY_CODES


@pytest.mark.parametrize("text", ["de", " DE ", "De"])
def test_a_country_is_read_case_insensitively_and_kept_upper_case(text: str) -> None:
    assert parse_country(text) == "DE"


@pytest.mark.parametrize("text", ["", "D", "DEU", "UK", "12", "d e", None, 49])
def test_a_country_that_is_not_an_alpha_2_code_is_refused(text: object) -> None:
    with pytest.raises(InvalidSetting):
        parse_country(text)


def test_without_a_list_everyone_buys_self_serve_even_without_a_country() -> None:
    assert EVERYWHERE.everywhere
    assert all(EVERYWHERE.allows(c) for c in ("DE", "US", None))
    for text in (None, "", "   ", "*"):
        assert parse_self_serve_countries(text) == EVERYWHERE


def test_with_a_list_only_its_countries_buy_self_serve() -> None:
    listed = parse_self_serve_countries("us, ca,GB")
    assert listed.countries == ("CA", "GB", "US")
    assert listed.allows("US") and listed.allows("CA") and listed.allows("GB")
    assert not listed.allows("DE")


def test_with_a_list_an_organization_without_a_country_contacts_sales() -> None:
    assert not parse_self_serve_countries("US").allows(None)


def test_an_empty_sequence_sends_everyone_to_sales() -> None:
    nowhere = parse_self_serve_countries([])
    assert nowhere == SelfServeCountries(())
    assert not nowhere.allows("US") and not nowhere.allows(None)
    assert nowhere.describe() == "nowhere"


def test_a_list_names_every_code_it_cannot_read() -> None:
    with pytest.raises(InvalidSetting) as caught:
        parse_self_serve_countries("US,UK,EU,CA")
    assert "'UK'" in str(caught.value) and "'EU'" in str(caught.value)
    assert "'US'" not in str(caught.value)


def test_a_request_names_a_pack_or_an_amount_not_both() -> None:
    assert check_request("explorer", None, "  hi  ", "Ada@Acme.Example") == (
        "explorer", None, "hi", "ada@acme.example",
    )  # fmt: skip
    assert check_request(None, 5_000_000, None, None) == (None, 5_000_000, "", None)
    with pytest.raises(InvalidSetting):
        check_request("explorer", 5_000_000, None, None)


@pytest.mark.parametrize("credits", [0, -1, True, 2**63])
def test_a_request_for_no_credits_is_refused(credits: int) -> None:
    with pytest.raises(InvalidAmount):
        check_request(None, credits, None, None)


def test_a_request_message_and_address_are_bounded() -> None:
    check_request(None, None, "x" * MAX_MESSAGE, None)
    with pytest.raises(InvalidSetting):
        check_request(None, None, "x" * (MAX_MESSAGE + 1), None)
    with pytest.raises(InvalidSetting):
        check_request(None, None, None, "not an address")
