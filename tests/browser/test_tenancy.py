"""Promise 4 in the browser: Acme's portal session reaches nothing of Globex's, by any
URL. Every route of the portal's router is asked with Globex's ids (404, nothing
changed), each of them first shown to open for Globex itself (so the 404 is the
tenancy's, not a broken route); the routes without an id are asked with Globex's ids in
their query and body, and answer with Acme's things only."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

import creditline.entrypoints.api  # noqa: F401 (the app's package imports the web package whole)
from creditline.entrypoints.web import portal
from tests.browser.conftest import BROWSER, Site, csrf, sign_in
from tests.browser.story import OrgWorld

pytestmark = BROWSER

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
LINK_PARAM = "token"
"""The portal link's own route: a token, not an organization's thing."""


def _ids(world: OrgWorld) -> dict[str, str | None]:
    """The id of each of the organization's things, by the route parameter naming it."""
    return {
        "event_id": world.pipeline_event,
        "batch_id": world.batch,
        "purchase_id": world.purchase,
        "invoice_id": world.invoice,
        "rule_id": world.rule,
        "endpoint_id": world.endpoint,
        "delivery_id": world.delivery,
    }


def portal_routes() -> list[tuple[str, str]]:
    """(method, path) of every portal route, as the web package declares them."""
    found = []
    for route in portal.router.routes:
        assert isinstance(route, APIRoute), route
        found.extend((method, route.path) for method in sorted(route.methods or ()))
    return found


def _with_ids(path: str, ids: dict[str, str | None]) -> str | None:
    """The path with its parameters filled from ``ids``; None when one is not there."""
    names = _PARAM.findall(path)
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{path}: give the story an id for {unknown}"
    if any(ids[n] is None for n in names):
        return None
    return _PARAM.sub(lambda m: str(ids[m.group(1)]), path)


def _globex_state(site: Site) -> tuple[Any, ...]:
    globex = site.story.globex
    with site.engine() as cl:
        balance = cl.balance(globex.id)
        return (
            (balance.total, balance.available),
            [(r.id, r.active) for r in cl.alert_rules(globex.id, include_disabled=True)],
            [(e.id, e.disabled_at) for e in cl.webhook_endpoints(globex.id, True)],
            cl.webhook_delivery(globex.delivery, globex.id),
            cl.purchase(globex.id, globex.purchase),
            cl.usage_event(globex.id, globex.pipeline_event),
            len(cl.history(globex.id, 1000)),
        )


def test_every_portal_route_with_an_id_opens_for_its_own_organization(
    chromium: Any, site: Site
) -> None:
    """The control: Globex's ids are good ids, in Globex's own portal."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        sign_in(page, site, site.story.globex.id, read_only=True)
        asked = 0
        for method, path in portal_routes():
            if method != "GET" or LINK_PARAM in path:
                continue
            url = _with_ids(path, _ids(site.story.globex))
            if url is None or url == path:
                continue
            answer = page.request.get(site.url + url, max_redirects=0)
            assert answer.status == 200, (url, answer.status)
            asked += 1
        assert asked >= 8
    finally:
        context.close()


def test_acme_portal_reaches_no_globex_thing_by_any_url(page: Any, site: Site) -> None:
    globex = site.story.globex
    before = _globex_state(site)
    sign_in(page, site, site.story.acme.id)
    token = csrf(page)
    secrets = (globex.name, "secret-project", "Eve Globex", globex.id)

    asked = []
    for method, path in portal_routes():
        if LINK_PARAM in path:
            continue
        url = _with_ids(path, _ids(globex))
        if url is None or url == path:
            continue
        if method == "GET":
            answer = page.goto(site.url + url)
            assert answer is not None
            status, text = answer.status, page.content()
        else:
            posted = page.request.post(site.url + url, form={"csrf": token}, max_redirects=0)
            status, text = posted.status, posted.text()
        assert status == 404, (method, url, status)
        assert not any(s in text for s in secrets), (method, url)
        asked.append((method, path))

    assert len(asked) >= 13, asked
    assert _globex_state(site) == before


def test_globex_ids_in_queries_and_forms_show_and_change_only_acme(page: Any, site: Site) -> None:
    acme, globex = site.story.acme, site.story.globex
    before = _globex_state(site)
    sign_in(page, site, acme.id)
    token = csrf(page)
    secrets = (globex.name, "secret-project", "Eve Globex")
    queries = [
        f"/portal/usage?project={globex.projects['secret']}&member={globex.members['eve']}",
        f"/portal/usage?group=member&member={globex.members['eve']}&org_id={globex.id}",
        f"/portal/transactions?cause_type=usage_event&cause_ref={globex.pipeline_event}",
        f"/portal/transactions?cause_type=purchase&cause_ref={globex.purchase}",
        f"/portal/alerts?org_id={globex.id}",
        f"/portal/billing?org_id={globex.id}",
        f"/portal/usage.csv?member={globex.members['eve']}&org_id={globex.id}",
    ]
    for url in queries:
        answer = page.request.get(site.url + url)
        assert answer.status in (200, 400), (url, answer.status)
        assert not any(s in answer.text() for s in secrets), url

    added = page.request.post(
        f"{site.url}/portal/alerts",
        form={"csrf": token, "kind": "payment_failed", "org_id": globex.id},
        max_redirects=0,
    )

    assert added.status in (200, 303), added.status
    with site.engine() as cl:
        assert "payment_failed" in [r.kind.value for r in cl.alert_rules(acme.id)]
    assert _globex_state(site) == before
