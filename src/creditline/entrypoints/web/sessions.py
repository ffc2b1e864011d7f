"""Who a dashboard request is: the portal's and the console's browser sessions, their
CSRF tokens, the forms they post, and one-time messages.

**Portal sessions.** A portal link (:mod:`creditline.domain.portal`) opens a session: a
cookie ``cl_portal`` (path ``/portal``, ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over
HTTPS) holding the link's organization, member and read-only flag, its own expiry (an
hour by default) and a random CSRF token, all signed with the key every process shares.
Every portal page takes the organization from this cookie, never from the URL.

**Console sessions.** An operator signs in with an operator API key; the cookie
``cl_console`` (path ``/console``, ``SameSite=Strict``, 8 hours) holds the key's id, not
its text, and every request checks again that the key is still usable (not revoked, not
expired, an operator's).

**Forms.** Every POST is ``application/x-www-form-urlencoded`` and carries the
session's CSRF token in its ``csrf`` field, compared in constant time: a form from
another site cannot post as the session. A read-only portal session may post nothing
but its sign-out.

**Messages.** An action's outcome (``Alert added``, or the error that refused it) is
carried to the page it redirects to by a signed cookie ``cl_flash`` read once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from creditline.bootstrap import Creditline
from creditline.domain.api_keys import Role
from creditline.domain.errors import ApiKeyNotFound, CreditlineError, NotFound
from creditline.entrypoints.web.render import Redirect, WebProblem, page, redirect
from creditline.entrypoints.web.settings import WebSettings
from creditline.services.portal import Signer

__all__ = [
    "CONSOLE_COOKIE",
    "FLASH_COOKIE",
    "PORTAL_COOKIE",
    "Engine",
    "Flash",
    "Form",
    "Operator",
    "OperatorForm",
    "OperatorSession",
    "PortalForm",
    "PortalSession",
    "PortalUser",
    "PortalWrite",
    "Settings",
    "act",
    "clear_console",
    "clear_portal",
    "done",
    "flash",
    "new_console_session",
    "new_portal_session",
    "read_form",
    "set_console",
    "set_portal",
    "show",
    "take_flash",
]

PORTAL_COOKIE = "cl_portal"
CONSOLE_COOKIE = "cl_console"
FLASH_COOKIE = "cl_flash"
_PORTAL = "portal-session"
_CONSOLE = "console-session"


@dataclass(frozen=True, slots=True)
class _Cookie:
    """A session cookie: its name, what its signature is for, its path and SameSite."""

    name: str
    purpose: str
    path: str
    samesite: Literal["lax", "strict"]


_PORTAL_COOKIE = _Cookie(PORTAL_COOKIE, _PORTAL, "/portal", "lax")
# Strict: an operator's session never rides along on a request another site starts.
_CONSOLE_COOKIE = _Cookie(CONSOLE_COOKIE, _CONSOLE, "/console", "strict")
_FLASH = "flash"
FLASH_SECONDS = 120


def _engine(request: Request) -> Creditline:
    engine: Creditline = request.app.state.creditline
    return engine


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.web_settings
    return settings


Engine = Annotated[Creditline, Depends(_engine)]
Settings = Annotated[WebSettings, Depends(_settings)]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _signer(cl: Creditline) -> Signer:
    return cl.dashboard.signer()


# -- portal sessions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A signed-in portal browser: one organization, maybe one member, maybe read-only."""

    org_id: str
    member_id: str | None
    read_only: bool
    expires_at: datetime
    csrf: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "o": self.org_id,
            "m": self.member_id,
            "r": 1 if self.read_only else 0,
            "e": _epoch(self.expires_at),
            "c": self.csrf,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortalSession | None:
        org, member, read_only, expires, csrf = (data.get(k) for k in "omrec")
        if (
            not isinstance(org, str)
            or not (member is None or isinstance(member, str))
            or read_only not in (0, 1)
            or isinstance(expires, bool)
            or not isinstance(expires, int)
            or not isinstance(csrf, str)
        ):
            return None
        return cls(org, member, read_only == 1, datetime.fromtimestamp(expires, UTC), csrf)


def new_portal_session(
    org_id: str, member_id: str | None, read_only: bool, now: datetime, settings: WebSettings
) -> PortalSession:
    expires = now + timedelta(seconds=settings.portal_session_seconds)
    return PortalSession(org_id, member_id, read_only, expires, secrets.token_urlsafe(24))


def _set_cookie(
    response: Response,
    request: Request,
    cl: Creditline,
    cookie: _Cookie,
    session: PortalSession | OperatorSession,
) -> None:
    response.set_cookie(
        cookie.name,
        _signer(cl).sign(cookie.purpose, session.to_dict()),
        max_age=max(1, _epoch(session.expires_at) - _epoch(cl.clock.now())),
        path=cookie.path,
        secure=_secure(request),
        httponly=True,
        samesite=cookie.samesite,
    )


def _clear_cookie(response: Response, cookie: _Cookie) -> None:
    response.delete_cookie(cookie.name, path=cookie.path, httponly=True, samesite=cookie.samesite)


def set_portal(
    response: Response, request: Request, cl: Creditline, session: PortalSession
) -> None:
    _set_cookie(response, request, cl, _PORTAL_COOKIE, session)


def clear_portal(response: Response) -> None:
    _clear_cookie(response, _PORTAL_COOKIE)


def _portal_user(request: Request, cl: Engine) -> PortalSession:
    """The request's portal session, or a 401 page: none, tampered with, or over."""
    text = request.cookies.get(PORTAL_COOKIE)
    data = None if text is None else _signer(cl).unsign(_PORTAL, text)
    session = None if data is None else PortalSession.from_dict(data)
    if session is None or cl.clock.now() >= session.expires_at:
        raise WebProblem(
            401,
            "Session ended",
            "Your portal session has ended or was never opened here. Open the portal "
            "again from the application you came from.",
        )
    return session


PortalUser = Annotated[PortalSession, Depends(_portal_user)]


# -- console sessions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperatorSession:
    """A signed-in operator: the operator key it signed in with (its id), its name."""

    key_id: str
    name: str
    expires_at: datetime
    csrf: str

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.key_id, "e": _epoch(self.expires_at), "c": self.csrf}


def new_console_session(
    key_id: str, name: str, now: datetime, settings: WebSettings
) -> OperatorSession:
    expires = now + timedelta(seconds=settings.console_session_seconds)
    return OperatorSession(key_id, name, expires, secrets.token_urlsafe(24))


def set_console(
    response: Response, request: Request, cl: Creditline, session: OperatorSession
) -> None:
    _set_cookie(response, request, cl, _CONSOLE_COOKIE, session)


def clear_console(response: Response) -> None:
    _clear_cookie(response, _CONSOLE_COOKIE)


def _operator_now(request: Request, cl: Creditline) -> OperatorSession | None:
    text = request.cookies.get(CONSOLE_COOKIE)
    data = None if text is None else _signer(cl).unsign(_CONSOLE, text)
    if data is None:
        return None
    key_id, expires, csrf = data.get("k"), data.get("e"), data.get("c")
    if not isinstance(key_id, str) or not isinstance(expires, int) or not isinstance(csrf, str):
        return None
    now = cl.clock.now()
    if now >= datetime.fromtimestamp(expires, UTC):
        return None
    try:
        key = cl.api_key(key_id)
    except ApiKeyNotFound:
        return None
    if key.role is not Role.OPERATOR or key.usable_at(now) is not None:
        return None
    return OperatorSession(key.id, key.name, datetime.fromtimestamp(expires, UTC), csrf)


def _operator(request: Request, cl: Engine) -> OperatorSession:
    """The signed-in operator (its key checked again now), or a redirect to sign in."""
    found = _operator_now(request, cl)
    if found is None:
        raise Redirect("/console/login")
    return found


Operator = Annotated[OperatorSession, Depends(_operator)]


# -- forms --------------------------------------------------------------------------------------


class Form:
    """A posted form's fields (``application/x-www-form-urlencoded``)."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self._fields.get(name, []) if v.strip()]

    def __contains__(self, name: str) -> bool:
        return name in self._fields


async def read_form(request: Request) -> Form:
    """The posted form (no session needed: the console's sign-in)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        return Form({})
    if kind != "application/x-www-form-urlencoded":
        raise WebProblem(415, "Unsupported form", "Forms are posted URL-encoded.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebProblem(400, "Bad form", "The form is not UTF-8.") from None
    return Form(parse_qs(text, keep_blank_values=True, max_num_fields=200))


def _check_csrf(form: Form, expected: str) -> None:
    given = form.get("csrf")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebProblem(
            403,
            "Form refused",
            "This form has expired or did not come from this page. Go back, reload the "
            "page and try again.",
        )


async def _portal_form(request: Request, who: PortalUser) -> Form:
    form = await read_form(request)
    _check_csrf(form, who.csrf)
    return form


async def _portal_write(request: Request, who: PortalUser) -> Form:
    form = await _portal_form(request, who)
    if who.read_only:
        raise WebProblem(403, "Read-only", "This session is read-only: nothing can be changed.")
    return form


async def _operator_form(request: Request, who: Operator) -> Form:
    form = await read_form(request)
    _check_csrf(form, who.csrf)
    return form


PortalForm = Annotated[Form, Depends(_portal_form)]
"""A portal form, its CSRF token checked (read-only sessions may post it: sign-out)."""
PortalWrite = Annotated[Form, Depends(_portal_write)]
"""A portal form that changes something: CSRF checked, read-only sessions refused."""
OperatorForm = Annotated[Form, Depends(_operator_form)]
"""A console form, its operator and CSRF token checked."""


# -- one-time messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flash:
    """A message for the next page: ``ok`` or ``error``."""

    kind: str
    text: str


def flash(response: Response, request: Request, cl: Creditline, kind: str, text: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        _signer(cl).sign(_FLASH, {"k": kind, "t": text[:600]}),
        max_age=FLASH_SECONDS,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )


def take_flash(request: Request, cl: Creditline) -> Flash | None:
    """The message left for this page, if any (the page clears it)."""
    text = request.cookies.get(FLASH_COOKIE)
    data = None if text is None else _signer(cl).unsign(_FLASH, text)
    if data is None or data.get("k") not in ("ok", "error") or not isinstance(data.get("t"), str):
        return None
    return Flash(str(data["k"]), str(data["t"]))


# -- answers ---------------------------------------------------------------------------------------


def show(
    request: Request,
    cl: Creditline,
    name: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    """The page ``name``, with the message left for it (then cleared)."""
    message = take_flash(request, cl)
    response = page(request, name, {"flash": message, **context}, status=status)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def act(request: Request, cl: Creditline, back: str, action: Callable[[], str]) -> Response:
    """Run a form's ``action`` and go back to ``back``, showing its message, or why it
    was refused. A thing not found (another organization's) stays a 404 page."""
    try:
        message = action()
    except NotFound:
        raise
    except CreditlineError as exc:
        return done(request, cl, back, str(exc), "error")
    return done(request, cl, back, message)


def done(
    request: Request, cl: Creditline, location: str, text: str, kind: str = "ok"
) -> RedirectResponse:
    """After a form: a 303 to ``location``, which will show ``text``."""
    response = redirect(location)
    flash(response, request, cl, kind, text)
    return response
