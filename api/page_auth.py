"""The admin page's session and its same-origin check.

The session is Starlette's SessionMiddleware: a cookie signed with itsdangerous under
`Settings.session_key()`, holding only when the login happened and a one-time notice,
never the secret. It is `HttpOnly`, `SameSite=Strict`, lasts 12 hours, and is `Secure`
when the request came over https: SessionMiddleware's `https_only` is fixed when it is
built, so `PageSession` holds one of each and picks per request, from the scheme uvicorn
reports, or behind trusted proxies the one they report (api/client_address.py). A
cookie rewritten later (a new notice) is signed anew, so the 12 hours are counted from
`since`, the login, rather than from the signature.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.envelope import ApiError

SESSION_COOKIE = "wa_admin_session"
SESSION_MAX_AGE = 12 * 60 * 60
# The page's URLs, the event stream among them: the cookie goes nowhere else.
SESSION_PATH = "/admin"
_SINCE = "since"
_NOTICE = "notice"


class PageSession:
    """SessionMiddleware, `Secure` over https only."""

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        def built(https_only: bool) -> SessionMiddleware:
            return SessionMiddleware(
                app,
                secret_key=secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                path=SESSION_PATH,
                same_site="strict",
                https_only=https_only,
            )

        self._plain = built(False)
        self._secure = built(True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self._secure if scope.get("scheme") in ("https", "wss") else self._plain
        await chosen(scope, receive, send)


def logged_in(connection: HTTPConnection) -> bool:
    """Whether the session shows a login within the last 12 hours."""
    since = _session(connection).get(_SINCE)
    if not isinstance(since, int):
        return False
    return 0 <= time.time() - since < SESSION_MAX_AGE


def log_in(request: Request) -> None:
    """A new session, whatever was there: a login never keeps an older session's data."""
    session = _session(request)
    session.clear()
    session[_SINCE] = int(time.time())


def log_out(request: Request) -> None:
    _session(request).clear()


def notify(request: Request, notice: str) -> None:
    """A notice for the next page shown (the outcome of an action, after its redirect)."""
    _session(request)[_NOTICE] = notice[:500]


def take_notice(request: Request) -> str:
    """The notice waiting, once: a reload does not show it again."""
    notice = _session(request).pop(_NOTICE, "")
    return notice if isinstance(notice, str) else ""


def require_same_origin(request: Request) -> None:
    """403 for a request another site made: an `Origin` that is not the page's own, or
    `Sec-Fetch-Site` other than same-origin. A request with neither (not a browser's,
    or an old one) passes: SameSite=Strict keeps the cookie from cross-site ones."""
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request):
        raise ApiError(403, "cross-site request refused")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        raise ApiError(403, "cross-site request refused")


def own_origin(request: Request) -> str:
    """The page's origin as the browser sees it: scheme and Host."""
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def _session(connection: HTTPConnection) -> dict[str, Any]:
    return connection.session
