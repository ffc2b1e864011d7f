"""The OpenAPI document's pages in Debian's Chromium, on the live server: Swagger UI at
``/docs`` and ReDoc at ``/redoc`` render the API's operations with every request the
page makes going to the server itself (scripts, styles, the document; no CDN, no
favicon or fonts from elsewhere), so they work offline. Photographed into
``var/screenshots/`` (``docs-swagger-ui``, ``docs-redoc``)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import BROWSER, Site, shoot

pytestmark = BROWSER


def _record(page: Any) -> list[str]:
    """Every URL ``page`` requests from now on."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def _foreign(urls: list[str], site: Site) -> list[str]:
    return [u for u in urls if not u.startswith(site.url + "/") and not u.startswith("data:")]


def test_swagger_ui_renders_the_api_from_the_server_alone(page: Any, site: Site) -> None:
    urls = _record(page)

    answer = page.goto(f"{site.url}/docs")

    assert answer is not None and answer.status == 200
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "creditline" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert page.evaluate("typeof SwaggerUIBundle") == "function"
    page.wait_for_load_state("networkidle")
    shoot(page, "docs-swagger-ui", full_page=False)
    assert f"{site.url}/static/vendor/swagger-ui-bundle.js" in urls
    assert f"{site.url}/static/vendor/swagger-ui.css" in urls
    assert f"{site.url}/openapi.json" in urls
    assert _foreign(urls, site) == [], urls


def test_redoc_renders_the_api_from_the_server_alone(page: Any, site: Site) -> None:
    urls = _record(page)

    answer = page.goto(f"{site.url}/redoc")

    assert answer is not None and answer.status == 200
    page.wait_for_selector(".api-content h1", timeout=30_000)
    assert "creditline" in page.locator(".api-content h1").first.inner_text()
    assert page.locator(".api-content [data-section-id^='operation']").count() > 20
    page.wait_for_load_state("networkidle")
    shoot(page, "docs-redoc", full_page=False)
    assert f"{site.url}/static/vendor/redoc.standalone.js" in urls
    assert f"{site.url}/openapi.json" in urls
    assert _foreign(urls, site) == [], urls
