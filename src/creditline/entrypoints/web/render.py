"""Pages: the Jinja2 templates, their formatting filters, the security headers every
page carries, and how an error becomes a page.

**One format.** Credits are shown to two decimals with comma-grouped thousands, the
exact amount on hover (:func:`credits_html`; exports stay exact), money in its major
unit with its sign or code (:func:`money_text`), times as ``2026-12-06 14:05 UTC``.

**Headers.** Every page forbids framing, sniffing and any script, style or connection
that is not the server's own (``Content-Security-Policy``; chart data travels as JSON
in ``<script type="application/json">`` blocks, read by ``/static/app.js``), and is
never cached (``Cache-Control: no-store``): the pages show an organization's private
data.

**Errors.** A route of the dashboard raises; :class:`WebRoute` answers with a page:
:class:`Redirect` (303), :class:`WebProblem` (its status), the engine's errors by the
HTTP API's one table (a ``NotFound`` is 404, whatever organization it belongs to).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from creditline.domain.amounts import format_credits
from creditline.domain.cycles import ExpiryRule
from creditline.domain.errors import CreditlineError, NotFound
from creditline.domain.money import Money, minor_digits
from creditline.entrypoints.api.problems import problem_type

__all__ = [
    "CSP",
    "PAGE_HEADERS",
    "Redirect",
    "WebProblem",
    "WebRoute",
    "page",
    "redirect",
    "templates",
]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""The headers of every page."""


# -- formatting ---------------------------------------------------------------------------


CENTS = 10_000
"""Micro-credits in a hundredth of a credit: pages show credits to two decimals."""
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
"""Currencies written with their sign; any other is written with its code."""


def credits_text(micros: int | None) -> str:
    """Credits as pages show them, to two decimals (half away from zero), thousands
    grouped by commas: ``5433139208`` -> ``5,433.14``; ``-2500000`` -> ``-2.50``."""
    if micros is None:
        return ""
    cents = (abs(micros) + CENTS // 2) // CENTS
    sign = "-" if micros < 0 else ""
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def number_text(value: object) -> str:
    """A quantity (tokens, characters, minutes) with comma-grouped thousands:
    ``78000`` -> ``78,000``, ``1234.5`` -> ``1,234.5``; anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{Decimal(str(value)):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _exact(micros: int, text: str) -> Markup:
    """``text`` in a span whose title is the exact amount (read on hover)."""
    return Markup('<span class="credits" title="{} credits">{}</span>').format(
        format_credits(micros), text
    )


def credits_html(micros: int | None) -> Markup:
    """The ``credits`` filter: :func:`credits_text`, exact on hover."""
    if micros is None:
        return Markup("")
    return _exact(micros, credits_text(micros))


def signed_credits(micros: int) -> str:
    """Credits with their sign: ``+100.00``, ``-2.50``."""
    return ("+" if micros > 0 else "") + credits_text(micros)


def signed_credits_html(micros: int) -> Markup:
    """The ``signed_credits`` filter: :func:`signed_credits`, exact on hover."""
    return _exact(micros, signed_credits(micros))


def money_text(
    amount: Money | int | None, currency: str | None = None, *, negative: bool = False
) -> str:
    """Money in its major unit with its sign or code: ``Money(45000, "USD")`` ->
    ``$450.00``, ``Money(1000, "CHF")`` -> ``CHF 10.00``; ``negative`` (a refund):
    ``-$100.00``. Takes a :class:`Money`, or minor units and a currency."""
    minor = amount.minor if isinstance(amount, Money) else amount
    currency = amount.currency if isinstance(amount, Money) else currency
    if minor is None or currency is None:
        return ""
    digits = minor_digits(currency)
    whole, frac = divmod(abs(minor), 10**digits)
    number = f"{whole:,}" + (f".{frac:0{digits}d}" if digits else "")
    sign = "-" if negative != (minor < 0) and minor != 0 else ""
    symbol = CURRENCY_SIGNS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}"


def when(moment: datetime | None) -> str:
    """``2026-01-05 14:03 UTC``; an empty string for none."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(moment: datetime | date | None) -> str:
    """The machine-readable form of a ``<time datetime>``."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def day(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%d")
    return moment.isoformat()


def expiry_words(rule: ExpiryRule) -> str:
    """When credits granted under ``rule`` expire, in words."""
    if rule.term is not None:
        return f"expire {rule.term} after they are granted"
    if rule.cycles is not None:
        return f"roll over for {rule.cycles} cycles, then expire"
    return {"never": "never expire", "end_of_cycle": "expire at the end of the billing cycle"}.get(
        rule.kind.value, rule.kind.value
    )


def segment(value: object) -> str:
    """One path segment, every reserved character escaped (ids are free text)."""
    return quote(str(value), safe="")


def query(params: Mapping[str, object]) -> str:
    """A query string of the parameters that have a value (``?a=1&b=x``), or ``""``."""
    pairs = [(k, str(v)) for k, v in params.items() if v not in (None, "")]
    return "?" + urlencode(pairs) if pairs else ""


def json_data(value: Any) -> Markup:
    """Data for a ``<script type="application/json">`` block: JSON with ``<``, ``>``
    and ``&`` escaped, so no text in it can close the block."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # escaped above: nothing in it is markup


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        credits=credits_html,
        signed_credits=signed_credits_html,
        money=money_text,
        number=number_text,
        when=when,
        iso=iso,
        day=day,
        seg=segment,
        json_data=json_data,
        expiry=expiry_words,
        exact_credits=format_credits,  # a form field's value: the exact amount, plain
    )
    env.globals["qs"] = query
    return env


templates = Jinja2Templates(env=_environment())


# -- answers --------------------------------------------------------------------------------


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The template ``name`` rendered with ``context``, with the page headers."""
    response = templates.TemplateResponse(
        request,
        name,
        dict(context),
        status_code=status,
        headers={**PAGE_HEADERS, **(headers or {})},
    )
    return response


def redirect(location: str) -> RedirectResponse:
    """A 303 to ``location`` (after a form: the browser GETs it)."""
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)


class Redirect(Exception):
    """Raised to answer with a 303 to ``location`` (a page that needs a session)."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(location)


class WebProblem(Exception):
    """Raised to answer with an error page: ``status``, a title and a sentence."""

    def __init__(self, status: int, title: str, message: str, *, area: str = "portal") -> None:
        self.status = status
        self.title = title
        self.message = message
        self.area = area
        super().__init__(message)


def _area(request: Request) -> str:
    return "console" if request.url.path.startswith("/console") else "portal"


def problem_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "area": _area(request)},
        status=status,
    )


def _error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Redirect):
        return redirect(exc.location)
    if isinstance(exc, WebProblem):
        return problem_page(request, exc.status, exc.title, exc.message)
    if isinstance(exc, RequestValidationError):
        return problem_page(request, 400, "Bad request", "This address is not one we know.")
    assert isinstance(exc, CreditlineError)
    if isinstance(exc, NotFound):
        return problem_page(request, 404, "Not found", "There is nothing here.")
    kind = problem_type(exc)
    return problem_page(request, kind.status, kind.title, str(exc))


class WebRoute(APIRoute):
    """A dashboard route: whatever it raises is answered with a page (see the module
    docstring), never with the API's problem details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web(request: Request) -> Response:
            try:
                return await handler(request)
            except (Redirect, WebProblem, RequestValidationError, CreditlineError) as exc:
                return _error_page(request, exc)

        return web
