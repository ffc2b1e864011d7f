"""The console's what-if page: a pasted draft re-prices a past period's usage, per
organization and operation; a bad draft or date shows every problem; nothing is loaded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from tests.web.conftest import Site, csrf

DRAFT = """\
name = "default"
version = "v9"
effective_from = 2027-01-01T00:00:00Z
[operations.ping]
flat = "4"
[operations.render]
dimensions = ["mode"]
matrix = { basic = "1", pro = "3", max = "12" }
"""


def test_a_pasted_draft_reprices_past_usage_for_every_organization(site: Site) -> None:
    cl, a, b = site.cl, site.a, site.b
    browser = site.console()
    page = browser.get("/console/whatif")
    assert page.status_code == 200 and 'data-testid="whatif-form"' in page.text
    assert 'data-testid="whatif-link"' in browser.get("/console/ratecards").text
    expected = cl.what_if(DRAFT, since=datetime(2026, 1, 1, tzinfo=UTC))
    form = {"csrf": csrf(page.text), "document": DRAFT, "syntax": "toml", "since": "2026-01-01"}
    answer = browser.post("/console/whatif", data=form)
    assert answer.status_code == 200, answer.text
    rows = re.findall(r'data-testid="whatif-row" data-org="([^"]+)" data-operation="([^"]+)"',
                      answer.text)  # fmt: skip
    assert rows == [(i.org_id, i.operation) for i in expected.impacts]
    assert {org for org, _ in rows} == {a.org, b.org}
    shown = re.search(r'data-testid="whatif-difference" data-micros="(-?\d+)"', answer.text)
    assert shown is not None and int(shown.group(1)) == expected.difference
    assert [c.version for c in cl.rate_card_history().versions] == ["v1"]
    one = browser.post("/console/whatif", data={**form, "org": a.org, "until": "2026-02-01"})
    assert set(re.findall(r'data-testid="whatif-row" data-org="([^"]+)"', one.text)) == {a.org}


def test_problems_are_shown_and_the_form_kept(site: Site) -> None:
    browser = site.console()
    token = csrf(browser.get("/console/whatif").text)
    cases = [
        ({"document": DRAFT.replace('"4"', '"-4"'), "since": "2026-01-01"}, "must not be negative"),
        ({"document": DRAFT, "since": ""}, "where the period starts"),
        ({"document": DRAFT, "since": "01/01/2026"}, "a date, YYYY-MM-DD"),
        ({"document": DRAFT, "since": "2026-02-01", "until": "2026-01-01"}, "must end after"),
        ({"document": DRAFT, "since": "2026-01-01", "org": "org_nobody"}, "org_nobody"),
    ]
    for fields, needle in cases:
        answer = browser.post("/console/whatif", data={"csrf": token, "syntax": "toml", **fields})
        assert answer.status_code == 422, fields
        problems = re.findall(r'data-testid="whatif-problem">([^<]*)<', answer.text)
        assert any(needle in unescape(p) for p in problems), (needle, problems)
        assert "[operations.ping]" in unescape(answer.text)  # the draft stays in the form
