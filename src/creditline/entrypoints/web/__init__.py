"""The web dashboard, served by the HTTP service itself: the customer portal
(``/portal``, :mod:`.portal`) and the operator console (``/console``, :mod:`.console`).

Server-rendered pages (Jinja2) with light interactivity (htmx) and charts (Chart.js),
every asset served from ``/static`` by creditline (no CDN), readable without JavaScript
where a page is a table (every chart has its numbers in a table beside it), usable on a
phone and by keyboard. :func:`install_web` adds it to an app
(:func:`creditline.entrypoints.api.create_app` does).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from creditline.entrypoints.web import console, console_revenue, portal
from creditline.entrypoints.web.render import STATIC
from creditline.entrypoints.web.settings import WebSettings

__all__ = ["WebSettings", "install_web"]


def install_web(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Serve the portal, the console and their assets from ``app``; the pages read the
    engine from ``app.state.creditline``."""
    app.state.web_settings = settings or WebSettings()
    app.include_router(portal.router)
    app.include_router(console.router)
    app.include_router(console_revenue.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
