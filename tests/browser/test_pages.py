"""Every page of the portal and of the console, in Debian's Chromium: each GET route of
the web package's routers opens (200, no JavaScript error) and is photographed into
``var/screenshots/`` at 1280 px and 375 px (``portal-page-*``, ``console-page-*``, the
phone's ending ``-375``). The console's sign-in takes an operator API key, refuses
anything else, and an operator's grant carries its reason into the ledger."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

import creditline.entrypoints.api  # noqa: F401 (the app's package imports the web package whole)
from creditline import credits
from creditline.domain.ledger import CauseType
from creditline.entrypoints.web import console, portal
from tests.browser.conftest import BROWSER, Site, shoot, sign_in
from tests.browser.story import OrgWorld

pytestmark = BROWSER

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _name(path: str) -> str:
    """A screenshot's name for a route: ``/portal/events/{event_id:path}`` is
    ``events-event_id``."""
    words = re.sub(r"\{(\w+)(?::\w+)?\}", r"\1", path).strip("/").split("/")[1:]
    return "-".join(words) or "home"


def _get_routes(router: Any) -> list[str]:
    paths = []
    for route in router.routes:
        assert isinstance(route, APIRoute), route
        if "GET" in (route.methods or ()) and route.path not in paths:
            paths.append(route.path)
    return paths


def _portal_ids(world: OrgWorld) -> dict[str, str | None]:
    return {
        "event_id": world.pipeline_event,
        "batch_id": world.batch,
        "purchase_id": world.purchase,
        "invoice_id": world.invoice,
        "rule_id": world.rule,
        "endpoint_id": world.endpoint,
        "delivery_id": world.delivery,
    }


def _fill(path: str, ids: dict[str, str | None]) -> str | None:
    names = _PARAM.findall(path)
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{path}: give the story an id for {unknown}"
    if any(ids[n] is None for n in names):
        return None
    return _PARAM.sub(lambda m: str(ids[m.group(1)]), path)


def _visit(page: Any, site: Site, url: str, name: str) -> None:
    """Open ``url`` and photograph it at 1280 px (``name``) and on a phone, 375 px wide
    (``name-375``)."""
    answer = page.goto(site.url + url)
    assert answer is not None and answer.status == 200, (url, answer and answer.status)
    if answer.headers.get("content-type", "").startswith("text/html"):
        shoot(page, name)
        page.set_viewport_size({"width": 375, "height": 812})
        shoot(page, f"{name}-375")
        page.set_viewport_size({"width": 1280, "height": 900})


def test_every_portal_page_opens_and_is_photographed(page: Any, site: Site) -> None:
    """Acme's pages, and Globex's for what only Globex has (an invoice)."""
    shown = []
    for world in (site.story.acme, site.story.globex):
        sign_in(page, site, world.id)
        for path in _get_routes(portal.router):
            if "{token}" in path or path.endswith(".csv") or path.endswith("/pdf"):
                continue
            url = _fill(path, _portal_ids(world))
            if url is None or path in shown or path == "/portal/purchases/return":
                continue
            if path.endswith("/status"):  # a fragment the purchase page polls
                assert page.request.get(site.url + url).status == 200
                continue
            _visit(page, site, url, f"portal-page-{_name(path)}")
            shown.append(path)
    assert "/portal/invoices/{invoice_id}" in shown
    assert len(shown) >= 12, shown


def test_every_console_page_opens_for_an_operator_and_is_photographed(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    page.goto(f"{site.url}/console/login")
    shoot(page, "console-page-login")
    page.get_by_test_id("api-key").fill(site.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{site.url}/console/orgs")
    assert page.get_by_text("Acme Labs").count() >= 1
    assert page.get_by_text("Globex").count() >= 1

    with site.engine() as cl:
        card = cl.rate_card("demo-ai-lab")
    ids = {
        "org_id": acme.id,
        "delivery_id": acme.delivery,
        "name": card.name,
        "version": card.version,
    }
    shown = []
    for path in _get_routes(console.router):
        if path in ("/console", "/console/", "/console/login"):
            continue
        url = _fill(path, ids)
        assert url is not None
        _visit(page, site, url, f"console-page-{_name(path)}")
        shown.append(path)
    assert len(shown) >= 8, shown


def test_the_console_refuses_a_key_that_is_not_an_operator_key(page: Any, site: Site) -> None:
    with site.engine() as cl:
        org_key = cl.create_api_key("org", site.story.acme.id, name="not an operator").secret

    for key in ("cl_live_nothing", org_key):
        page.goto(f"{site.url}/console/login")
        page.get_by_test_id("api-key").fill(key)
        page.get_by_test_id("sign-in").click()
        assert page.get_by_test_id("login-error").is_visible()
    shoot(page, "console-login-refused")
    page.goto(f"{site.url}/console/orgs")  # no session: back to the sign-in
    assert page.url == f"{site.url}/console/login"


def test_an_operator_grant_in_the_console_records_its_reason(page: Any, site: Site) -> None:
    globex = site.story.globex
    with site.engine() as cl:
        before = cl.balance(globex.id).available
    page.goto(f"{site.url}/console/login")
    page.get_by_test_id("api-key").fill(site.operator_key)
    page.get_by_test_id("sign-in").click()
    page.goto(f"{site.url}/console/orgs/{globex.id}")

    page.get_by_test_id("grant-amount").fill("25")
    page.get_by_test_id("grant-reason").fill("goodwill: ticket 4711")
    page.get_by_test_id("grant-submit").click()

    assert page.get_by_test_id("flash").get_attribute("data-kind") != "error"
    shoot(page, "console-org-granted")
    with site.engine() as cl:
        assert cl.balance(globex.id).available == before + credits(25)
        newest = cl.history(globex.id, 1)[0]
    assert (newest.cause.type, newest.cause.ref) == (CauseType.OPERATOR, "goodwill: ticket 4711")
    assert page.get_by_test_id("ledger-row").first.get_by_test_id("cause").inner_text() == (
        "operator: goodwill: ticket 4711"
    )
