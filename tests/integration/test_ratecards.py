"""Rate cards stored by the engine (C2, C3): versions, idempotent loading, quotes.

Every test runs on SQLite and on PostgreSQL. The clock starts at 2026-01-01 00:00 UTC.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import (
    Conflict,
    InvalidRateCard,
    InvalidSetting,
    InvalidUsage,
    NoRateCardInForce,
    OrganizationNotFound,
    RateCardNotFound,
    RateCardVersionConflict,
    UnknownOperation,
)
from creditline.domain.pricing import RateCard, Step
from creditline.domain.pricing.ratecard_format import parse_ratecard
from tests.conftest import T0

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLATFORMS = ["otai", "aixplain", "datarobot", "ai-engine", "roboflow"]
FEB = datetime(2026, 2, 1, tzinfo=UTC)
JUST_BEFORE_FEB = FEB - timedelta(microseconds=1)
BUSINESS_STANDARD = {"mode": "Business", "delivery": "Standard"}
MAXIMUM_FAST = {"mode": "Maximum", "delivery": "Fast"}


def example(platform: str) -> str:
    return (EXAMPLES / platform / "ratecard.toml").read_text(encoding="utf-8")


def card_doc(version: str, effective_from: datetime, ping: str, **extra: Any) -> dict[str, Any]:
    """A small card named "default": ``ping`` costs a flat price in credits."""
    return {
        "name": "default",
        "version": version,
        "effective_from": effective_from.isoformat(),
        "operations": {
            "ping": {"flat": ping},
            "translate": {"per_unit": {"credits": "10", "quantity": "characters", "per": 10**6}},
        },
        **extra,
    }


def ping(cl: Creditline, at: datetime | None = None, org_id: str | None = None) -> int:
    return cl.quote(org_id, "ping", at=at).total


# -- the example cards ---------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_example_card_loads_and_reads_back_equal(cl: Creditline, platform: str) -> None:
    loaded = cl.load_rate_card(example(platform))
    assert loaded == parse_ratecard(example(platform))
    assert cl.rate_card(loaded.name) == loaded
    assert cl.rate_card(loaded.name, at=loaded.effective_from) == loaded
    assert list(cl.rate_card(loaded.name).operations) == list(loaded.operations)  # order kept
    assert [(h.name, h.versions) for h in cl.rate_cards()] == [(loaded.name, (loaded,))]


def test_the_example_cards_are_listed_by_name(cl: Creditline) -> None:
    for platform in PLATFORMS:
        cl.load_rate_card(example(platform))
    assert [h.name for h in cl.rate_cards()] == sorted(PLATFORMS)


def test_a_cards_first_version_may_take_effect_in_the_past(cl: Creditline) -> None:
    # aiXplain's prices date from 2023; nothing was priced by the card before it existed.
    card = cl.load_rate_card(example("aixplain"))
    assert card.effective_from == datetime(2023, 10, 13, tzinfo=UTC)
    assert cl.rate_card("aixplain", at=datetime(2024, 1, 1, tzinfo=UTC)) == card


# -- quotes by the seed numbers ---------------------------------------------------------


def test_otai_seed_quotes_through_the_engine(cl: Creditline) -> None:
    cl.load_rate_card(example("otai"))
    business = cl.quote(None, "train", {"attributes": 3}, BUSINESS_STANDARD, rate_card="otai")
    assert business.total == credits(2)  # 3 x 0.5 = 1.5, rounded up to whole credits
    assert (business.card, business.version) == ("otai", "2026-01")
    maximum = cl.quote(None, "train", {"attributes": 60}, MAXIMUM_FAST, rate_card="otai")
    assert maximum.total == credits(72)  # 18 x 4
    assert maximum.to_dict()["multipliers"] == [
        {"reason": "attributes 60 in 51..200", "factor": "4"}
    ]


def test_aixplain_seed_quotes_through_the_engine(cl: Creditline) -> None:
    cl.load_rate_card(example("aixplain"))
    translate = cl.quote(
        None,
        "translate",
        {"characters": 1_000_000},
        {"model": "azure-translator"},
        rate_card="aixplain",
    )
    assert translate.total == credits(10)
    assert translate.supplier == "Azure"
    transcribe = cl.quote(
        None, "transcribe", {"minutes": 40}, {"model": "aws-transcribe"}, rate_card="aixplain"
    )
    assert transcribe.total == credits("0.96")


def test_a_pipeline_quote_is_the_sum_of_its_steps(cl: Creditline) -> None:
    cl.load_rate_card(example("aixplain"))
    steps = [
        Step("translate", {"characters": 1_000_000}, {"model": "azure-translator"}),
        Step("transcribe", {"minutes": 40}, {"model": "aws-transcribe"}),
    ]
    quote = cl.quote(None, "pipeline", steps=steps, rate_card="aixplain")
    assert quote.total == credits("10.96")
    assert [s.total for s in quote.steps] == [credits(10), credits("0.96")]


def test_an_off_peak_quote_uses_the_time_asked_about(cl: Creditline) -> None:
    cl.load_rate_card(example("ai-engine"))
    usage = {"requests": 1000}
    peak = cl.quote(None, "inference", usage, at=T0 + timedelta(hours=12), rate_card="ai-engine")
    night = cl.quote(None, "inference", usage, at=T0 + timedelta(hours=23), rate_card="ai-engine")
    assert (peak.total, night.total) == (credits(2), credits(1))


def test_a_quote_spends_nothing(cl: Creditline) -> None:
    cl.load_rate_card(example("otai"))
    org = cl.create_org("Acme")
    cl.set_rate_card(org.id, "otai")
    cl.grant(org.id, credits(10))
    cl.quote(org.id, "train", {"attributes": 3}, BUSINESS_STANDARD)
    assert cl.balance(org.id).available == credits(10)
    assert len(cl.history(org.id)) == 1


def test_a_quote_names_what_it_cannot_price(cl: Creditline) -> None:
    cl.load_rate_card(example("otai"))
    with pytest.raises(UnknownOperation):
        cl.quote(None, "fly", rate_card="otai")
    with pytest.raises(InvalidUsage) as caught:
        cl.quote(None, "train", {"attributes": 500}, {"mode": "Huge"}, rate_card="otai")
    assert caught.value.problems == [
        "dimensions.mode: unknown value 'Huge' (one of Basic, Business, Maximum)",
        "dimensions.delivery: missing (one of Standard, Fast)",
        "quantities.attributes: 500 is outside every band (1..5, 6..20, 21..50, 51..200)",
    ]


# -- versions --------------------------------------------------------------------------


def test_each_time_is_priced_by_the_version_in_force_then(
    cl: Creditline, clock: ManualClock
) -> None:
    cl.load_rate_card(card_doc("v1", T0, "1"))
    cl.load_rate_card(card_doc("v2", FEB, "2"))
    assert ping(cl) == credits(1)  # now: January
    assert ping(cl, T0) == credits(1)
    assert ping(cl, JUST_BEFORE_FEB) == credits(1)
    assert ping(cl, FEB) == credits(2)  # in force from its first instant
    assert ping(cl, FEB + timedelta(days=40)) == credits(2)
    assert cl.rate_card(at=JUST_BEFORE_FEB).version == "v1"
    assert [c.version for c in cl.rate_card_history().versions] == ["v1", "v2"]
    clock.advance(timedelta(days=31))
    assert ping(cl) == credits(2)


def test_a_new_version_never_changes_a_past_quote(cl: Creditline, clock: ManualClock) -> None:
    cl.load_rate_card(card_doc("v1", T0, "1"))
    clock.advance(timedelta(days=10))
    event_time = T0 + timedelta(days=3)
    before = cl.quote(None, "ping", at=event_time)
    cl.load_rate_card(card_doc("v2", clock.now(), "5"))
    clock.advance(timedelta(days=60))
    after = cl.quote(None, "ping", at=event_time)  # a late event, priced after v2
    assert after == before
    assert (after.version, after.total) == ("v1", credits(1))
    assert ping(cl) == credits(5)


def test_a_version_taking_effect_before_now_is_refused(cl: Creditline, clock: ManualClock) -> None:
    cl.load_rate_card(card_doc("v1", T0, "1"))
    clock.advance(timedelta(days=10))
    with pytest.raises(InvalidRateCard) as caught:
        cl.load_rate_card(card_doc("v2", T0 + timedelta(days=5), "2"))
    (problem,) = caught.value.problems
    assert problem.startswith("effective_from: 2026-01-06T00:00:00+00:00 is before now")
    assert [c.version for c in cl.rate_card_history().versions] == ["v1"]
    assert ping(cl, T0 + timedelta(days=6)) == credits(1)


def test_two_versions_taking_effect_at_the_same_instant_are_refused(cl: Creditline) -> None:
    cl.load_rate_card(card_doc("v1", FEB, "1"))
    with pytest.raises(InvalidRateCard) as caught:
        cl.load_rate_card(card_doc("v2", FEB, "2"))
    assert caught.value.problems == [
        "effective_from: versions 'v1' and 'v2' both take effect at 2026-02-01T00:00:00+00:00"
    ]


def test_reloading_an_identical_version_is_a_no_op(cl: Creditline, clock: ManualClock) -> None:
    first = cl.load_rate_card(example("otai"))
    clock.advance(timedelta(days=40))  # its start is now in the past: still a no-op
    again = [
        cl.load_rate_card(example("otai")),
        cl.load_rate_card(json.dumps(first.to_dict()), syntax="json"),
        cl.load_rate_card(first.to_dict()),
        cl.load_rate_card(first),
    ]
    assert again == [first] * 4
    assert cl.rate_card_history("otai").versions == (first,)


def test_the_same_version_with_other_prices_is_refused(cl: Creditline) -> None:
    cl.load_rate_card(card_doc("v1", T0, "1"))
    with pytest.raises(RateCardVersionConflict) as caught:
        cl.load_rate_card(card_doc("v1", T0, "2"))
    assert isinstance(caught.value, Conflict)
    assert (caught.value.name, caught.value.version) == ("default", "v1")
    with pytest.raises(RateCardVersionConflict):
        cl.load_rate_card(card_doc("v1", T0, "1", description="now with a description"))
    assert ping(cl) == credits(1)


def test_an_invalid_card_is_refused_with_every_problem_and_nothing_stored(
    cl: Creditline,
) -> None:
    document = {
        "name": "bad",
        "version": "",
        "effective_from": "2026-01-01T00:00:00",
        "colour": "red",
        "operations": {
            "train": {"flat": "-1"},
            "translate": {"per_unit": {"credits": "1"}},
            "both": {"flat": "1", "per_unit": {"credits": "1", "quantity": "x"}},
        },
    }
    with pytest.raises(InvalidRateCard) as caught:
        cl.load_rate_card(document)
    problems = caught.value.problems
    assert len(problems) == 6, problems
    assert sorted(p.split(":")[0] for p in problems) == sorted(
        [
            "colour",
            "operations.translate.per_unit.quantity",
            "operations.both",
            "version",
            "effective_from",
            "operations.train.flat",
        ]
    )
    with pytest.raises(InvalidRateCard) as caught:
        cl.load_rate_card("name = 'x'\nversion = ", syntax="toml")
    assert caught.value.problems[0].startswith("document: not valid TOML")
    assert cl.rate_cards() == []


def test_concurrent_loads_of_one_version_store_it_once(cl: Creditline) -> None:
    results: list[RateCard | BaseException] = []

    def load() -> None:
        try:
            results.append(cl.load_rate_card(example("otai")))
        except BaseException as exc:  # reported below
            results.append(exc)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [parse_ratecard(example("otai"))] * 8
    assert len(cl.rate_card_history("otai").versions) == 1


# -- which card: the organization's, a named one, or the default --------------------------


def test_an_organization_is_priced_by_its_own_card_or_the_default(cl: Creditline) -> None:
    cl.load_rate_card(card_doc("v1", T0, "1"))
    cl.load_rate_card(example("otai"))
    acme, otai_user = cl.create_org("Acme"), cl.create_org("Trainer")
    assert cl.set_rate_card(otai_user.id, "otai") == "otai"
    assert (cl.org_rate_card(acme.id), cl.org_rate_card(otai_user.id)) == ("default", "otai")
    assert ping(cl, org_id=acme.id) == credits(1)
    quote = cl.quote(otai_user.id, "train", {"attributes": 3}, BUSINESS_STANDARD)
    assert (quote.card, quote.total) == ("otai", credits(2))
    with pytest.raises(UnknownOperation):
        ping(cl, org_id=otai_user.id)
    assert cl.set_rate_card(otai_user.id, None) == "default"
    assert ping(cl, org_id=otai_user.id) == credits(1)


def test_only_a_loaded_card_can_be_set_on_an_existing_organization(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    with pytest.raises(RateCardNotFound):
        cl.set_rate_card(org.id, "otai")
    cl.load_rate_card(example("otai"))
    with pytest.raises(OrganizationNotFound):
        cl.set_rate_card("org_missing", "otai")
    with pytest.raises(OrganizationNotFound):
        cl.quote("org_missing", "train")
    assert cl.org_rate_card(org.id) == "default"


def test_a_quote_needs_a_card_in_force(cl: Creditline) -> None:
    with pytest.raises(RateCardNotFound) as missing:
        ping(cl)
    assert str(missing.value) == "rate card 'default' not found"
    cl.load_rate_card(card_doc("v1", FEB, "1"))
    with pytest.raises(NoRateCardInForce):
        ping(cl)  # January: before its first version
    with pytest.raises(NoRateCardInForce):
        cl.rate_card()
    assert ping(cl, FEB) == credits(1)


def test_a_quote_takes_an_organization_or_a_card_not_both(cl: Creditline) -> None:
    cl.load_rate_card(example("otai"))
    org = cl.create_org("Acme")
    with pytest.raises(InvalidSetting):
        cl.quote(org.id, "train", rate_card="otai")
