"""The OpenAPI document's browsable pages, served with their assets by creditline itself
(no CDN: they work offline): Swagger UI at ``/docs`` (with its OAuth2 redirect page at
``/docs/oauth2-redirect``) and ReDoc at ``/redoc``.

FastAPI's own pages load Swagger UI, ReDoc, a favicon and (ReDoc) Google Fonts from
third-party addresses; :func:`install_docs` replaces them with the same pages pointed
at the copies under ``/static/vendor`` (see its ``README.txt``), with no favicon request
and no fonts from elsewhere. The application must be made with ``docs_url=None`` and
``redoc_url=None``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["DOCS_URL", "OAUTH2_REDIRECT_URL", "REDOC_URL", "VENDOR", "install_docs"]

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"
VENDOR = "/static/vendor"
"""Where the web dashboard serves the vendored assets (:mod:`creditline.entrypoints.web`)."""
NO_FAVICON = "data:,"
"""An empty icon: the browser asks no one for a favicon."""
SWAGGER_PARAMETERS = {"validatorUrl": None}
"""No badge from Swagger's online validator (a third-party request)."""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` from ``app``, their
    scripts and styles from ``/static/vendor`` (left out of the OpenAPI document)."""

    def _root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=root + str(app.openapi_url),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{root}{VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{VENDOR}/swagger-ui.css",
            swagger_favicon_url=NO_FAVICON,
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=root + str(app.openapi_url),
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{VENDOR}/redoc.standalone.js",
            redoc_favicon_url=NO_FAVICON,
            with_google_fonts=False,
        )
