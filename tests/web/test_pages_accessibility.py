"""Every dashboard page is usable by keyboard, screen reader and phone, and needs nothing
from another host: a language, the viewport, a skip link to the main content, a label
for every field, a scope for every table header, no inline script or style (the
Content-Security-Policy forbids them), and assets served by creditline itself with
their licenses."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

from creditline.entrypoints.web import portal
from tests.web.conftest import Site

WEB = Path(__file__).resolve().parents[2] / "src" / "creditline" / "entrypoints" / "web"
PACKAGE = WEB.parents[1]
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"
_FIELDS = {"input", "select", "textarea"}
_UNLABELLED_INPUTS = {"hidden", "submit", "button"}


class _Page(HTMLParser):
    """What the checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.labelled: set[str] = set()
        self.fields: list[tuple[str, dict[str, str | None]]] = []
        self.headers_without_scope = 0
        self.scripts: list[dict[str, str | None]] = []
        self.styled = 0
        self.lang: str | None = None
        self.viewport = False
        self.skip_link = False
        self.main_id: str | None = None
        self._labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.styled += "style" in a
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and a.get("name") == "viewport":
            self.viewport = "width=device-width" in (a.get("content") or "")
        elif tag == "a" and a.get("href") == "#main":
            self.skip_link = True
        elif tag == "main":
            self.main_id = a.get("id")
        elif tag == "label":
            self._labels += 1
            if a.get("for"):
                self.labelled.add(str(a["for"]))
        elif tag in _FIELDS:
            self.fields.append((tag, {**a, "_in_label": "1" if self._labels else None}))
        elif tag == "th":
            self.headers_without_scope += a.get("scope") not in ("col", "row", "colgroup")
        elif tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._labels -= 1

    def unlabelled(self) -> list[str]:
        found = []
        for tag, a in self.fields:
            if tag == "input" and a.get("type") in _UNLABELLED_INPUTS:
                continue
            if a.get("_in_label") or a.get("aria-label") or a.get("id") in self.labelled:
                continue
            found.append(f"<{tag} name={a.get('name')}>")
        return found


def _check(url: str, text: str, headers: dict[str, str]) -> None:
    page = _Page()
    page.feed(text)
    assert page.lang == "en", url
    assert page.viewport, url
    assert page.skip_link and page.main_id == "main", url
    assert page.unlabelled() == [], url
    assert page.headers_without_scope == 0, url
    assert page.styled == 0, url
    for script in page.scripts:
        source = script.get("src")
        assert (source or "").startswith("/static/") or script.get("type") == "application/json", (
            url,
            script,
        )
    assert "default-src 'self'" in headers["content-security-policy"], url
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


def test_every_portal_and_console_page_is_accessible_and_self_contained(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org, member_id=a.ids["member_id"])
    pages = [
        "/portal/", "/portal/usage", "/portal/usage?group=member&period=week",
        "/portal/transactions", f"/portal/events/{a.ids['event_id']}",
        f"/portal/batches/{a.ids['batch_id']}", "/portal/buy",
        f"/portal/purchases/{a.ids['purchase_id']}",
        f"/portal/purchases/{a.ids['purchase_id']}/receipt", "/portal/billing",
        "/portal/alerts", f"/portal/deliveries/{a.ids['delivery_id']}", "/portal/plan",
        "/portal/prices", "/portal/quotes", "/portal/events/missing", "/portal/keys",
    ]  # fmt: skip
    # every portal page is checked: all GET routes but the ones that are not HTML pages
    not_pages = {"/portal", "/portal/session/{token}", "/portal/usage.csv",
                 "/portal/purchases/return", "/portal/purchases/{purchase_id}/status",
                 "/portal/invoices/{invoice_id}", "/portal/invoices/{invoice_id}/pdf"}  # fmt: skip
    for route in portal.router.routes:
        path = getattr(route, "path", "")
        if "GET" in getattr(route, "methods", ()) and path not in not_pages:
            shape = re.sub(r"\\{\w+(?::\w+)?\\}", "[^/?]+", re.escape(path)) + r"(\?.*)?$"
            assert any(re.match(shape, url) for url in pages), path
    for url in pages:
        response = browser.get(url)
        assert response.status_code in (200, 404), url
        _check(url, response.text, dict(response.headers))
    console = site.console()
    for url in ["/console/orgs", f"/console/orgs/{a.org}", "/console/plans", "/console/packs",
                "/console/ratecards", "/console/ratecards/default/v1", "/console/webhooks",
                f"/console/deliveries/{a.ids['delivery_id']}", "/console/payments",
                "/console/revenue", "/console/revenue?month=2026-01"]:  # fmt: skip
        response = console.get(url)
        assert response.status_code == 200, url
        _check(url, response.text, dict(response.headers))
    login = site.browser().get("/console/login")
    _check("/console/login", login.text, dict(login.headers))


def test_the_assets_are_served_by_creditline_with_their_licenses(site: Site) -> None:
    browser = site.browser()
    for path, kind in [("/static/vendor/htmx.min.js", "javascript"),
                       ("/static/vendor/chart.umd.js", "javascript"),
                       ("/static/app.js", "javascript"), ("/static/app.css", "css")]:  # fmt: skip
        served = browser.get(path)
        assert served.status_code == 200, path
        assert kind in served.headers["content-type"]
    assert "htmx" in browser.get("/static/vendor/htmx.min.js").text[:2000]
    assert "Chart.js v4" in browser.get("/static/vendor/chart.umd.js").text[:200]
    vendor = WEB / "static" / "vendor"
    assert (vendor / "htmx.LICENSE").is_file() and (vendor / "chart.LICENSE.md").is_file()


def test_no_page_loads_anything_from_another_host() -> None:
    remote = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", re.I)
    for template in (WEB / "templates").rglob("*.html"):
        assert not remote.search(template.read_text(encoding="utf-8")), template
    for asset in ("app.js", "app.css"):
        text = (WEB / "static" / asset).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, asset


def test_the_package_ships_every_template_and_asset() -> None:
    patterns = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["creditline"]
    for folder in ("templates", "static"):
        for file in (WEB / folder).rglob("*"):
            if file.is_dir():
                continue
            relative = file.relative_to(PACKAGE).as_posix()
            assert any(fnmatch.fnmatchcase(relative, p) for p in patterns), relative
