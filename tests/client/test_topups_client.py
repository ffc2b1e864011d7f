"""Top-up settings through the HTTP API and its client answer as the library does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from creditline import Creditline, credits
from creditline.client import Client
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER
from tests.topups import CATALOGUE

pytestmark = SERVER


def test_top_up_settings_answer_as_the_library_does(embedded: Creditline, client: Client) -> None:
    def run(cl: Any) -> list[Any]:
        cl.load_packs(CATALOGUE)
        org = cl.create_org("Topups").id
        start = datetime(2030, 1, 1, tzinfo=UTC)
        return [
            outcome(lambda: cl.auto_topup(org)),
            outcome(lambda: cl.set_auto_topup(
                org, threshold=credits(50), pack="refill", currency="EUR", monthly_cap=5000,
            )),
            outcome(lambda: cl.set_auto_topup(
                org, threshold=credits(50), target=credits(200), currency="EUR", max_failures=2,
            )),
            outcome(lambda: cl.auto_topup(org)),
            outcome(lambda: cl.set_auto_topup(org, threshold=credits(5), pack="nope",
                                              currency="EUR")),
            outcome(lambda: cl.set_auto_topup(org, threshold=credits(50), target=credits(10),
                                              currency="EUR")),
            outcome(lambda: cl.disable_auto_topup(org)),
            outcome(lambda: cl.recurring_topup(org)),
            outcome(lambda: cl.cancel_recurring_topup(org)),
            outcome(lambda: cl.set_recurring_topup(org, "monthly", currency="EUR", day=3,
                                                   starts_at=start)),
            outcome(lambda: cl.set_recurring_topup(org, "nope", currency="EUR", day=28)),
            outcome(lambda: cl.recurring_topup(org)),
            outcome(lambda: cl.cancel_recurring_topup(org)),
            outcome(lambda: cl.purchases(org)),
        ]  # fmt: skip

    here, there = run(embedded), run(client)
    assert Canon()(there) == Canon()(here)
    assert here[0] is None and here[3].buy.value == "target"
    assert here[9].starts_at == datetime(2030, 1, 1, tzinfo=UTC)
    errors = {type(r).__name__ for r in here if isinstance(r, Exception)}
    assert errors == {"PackNotFound", "InvalidSetting"}
