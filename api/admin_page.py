"""The admin page at /admin/: server-rendered HTML, each action a form that posts.

The handlers take the same actions as the JSON API (api/actions.py); what is theirs is
the login (api/page_auth.py), the forms, and the redirect after each action with its
outcome as a one-time notice. Every POST is refused (403) when another site made it,
before its body is read; every action, and the fragments the script reloads (the state
and the fleet), needs the session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api import actions
from api.bodies import parse_pinned_version, read_form
from api.envelope import ApiError
from api.page_auth import (
    log_in,
    log_out,
    logged_in,
    notify,
    require_same_origin,
    take_notice,
)
from api.page_render import STATIC, dashboard, fleet_view, page, state_context, to_dashboard
from api.services import Services

WRONG_SECRET = "Wrong secret"
BRAKED = "Too many failed attempts; try again later"

Handler = Callable[[Request], Awaitable[Response]]
Action = Callable[[Request, Services, dict[str, str]], Awaitable[Response]]


def shown_as_page(handler: Handler) -> Handler:
    """A refusal (`ApiError`) as an HTML page rather than the API's JSON envelope."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            context = {"code": exc.code, "message": exc.message, "error": exc.error}
            return page(request, "error.html", context, exc.code, exc.headers)

    return handle


def action(handler: Action) -> Handler:
    """A POST from the page: same origin, logged in, its form read within the deadline."""

    @shown_as_page
    async def checked(request: Request) -> Response:
        require_same_origin(request)
        if not logged_in(request):
            return page(request, "login.html", {"error": "Log in first"}, 401)
        services: Services = request.state.services
        form = await read_form(request, services.body_timeout)
        return await handler(request, services, form)

    return checked


async def index(request: Request) -> Response:
    if not logged_in(request):
        return page(request, "login.html")
    return await dashboard(request, request.state.services, take_notice(request))


@shown_as_page
async def login(request: Request) -> Response:
    require_same_origin(request)
    services: Services = request.state.services
    form = await read_form(request, services.body_timeout)
    try:
        await services.auth.require_login(request, form.get("secret", ""))
    except ApiError as exc:
        if exc.code not in (401, 429):
            raise
        error = WRONG_SECRET if exc.code == 401 else BRAKED
        return page(request, "login.html", {"error": error}, exc.code, exc.headers)
    log_in(request)
    return to_dashboard()


@shown_as_page
async def logout(request: Request) -> Response:
    require_same_origin(request)
    log_out(request)
    return to_dashboard()


@action
async def refresh(request: Request, services: Services, form: dict[str, str]) -> Response:
    # An unchecked checkbox sends nothing: absent is false, unlike the API's default.
    force = form.get("force") == "true"
    try:
        result = await actions.refresh(services, force=force)
    except ApiError as exc:
        notify(request, f"Refresh failed: {exc.error}")
        return to_dashboard()
    version = result.state.version or "none"
    if result.refreshed:
        notify(request, f"Refreshed: {version}")
    else:
        notify(request, f"Not refreshed (the last attempt was recent): {version}")
    return to_dashboard()


@action
async def pin(request: Request, services: Services, form: dict[str, str]) -> Response:
    try:
        version = parse_pinned_version({"version": form.get("version", "").strip()})
    except ApiError as exc:
        return await dashboard(request, services, f"Not pinned: {exc.error}", 400)
    state = await actions.pin(services, version)
    notify(request, f"Pinned {state.version}")
    return to_dashboard()


@action
async def unpin(request: Request, services: Services, form: dict[str, str]) -> Response:
    state = await actions.unpin(services)
    if state.awaiting_upstream:
        notify(request, "Unpinned: the next fetch from upstream applies")
    else:
        notify(request, f"Unpinned: {state.version or 'none'}")
    return to_dashboard()


def require_session(request: Request) -> Services:
    """The services, for a logged-in request; a 401 page otherwise (for the fragments)."""
    if not logged_in(request):
        raise ApiError(401, "Log in first")
    services: Services = request.state.services
    return services


@shown_as_page
async def fleet_section(request: Request) -> Response:
    """The fleet section alone, for the page's script to replace it every few seconds."""
    services = require_session(request)
    state = await services.refresh.current()
    return page(request, "fleet.html", {"fleet": await fleet_view(services, state.version)})


@shown_as_page
async def state_section(request: Request) -> Response:
    """The state and the history alone, for the page's script to replace every few
    seconds and on each version event: a failed refresh, or a pin of the version held,
    sends no event but changes what they show."""
    services = require_session(request)
    return page(request, "live_state.html", await state_context(services))


async def to_index(request: Request) -> Response:
    # A relative Location: not one built from the client's Host header.
    return RedirectResponse("/admin/", 308)


page_routes = [
    Route("/admin", to_index, methods=["GET"]),
    Route("/admin/", index, methods=["GET"]),
    Route("/admin/login", login, methods=["POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/refresh", refresh, methods=["POST"]),
    Route("/admin/pin", pin, methods=["POST"]),
    Route("/admin/unpin", unpin, methods=["POST"]),
    Route("/admin/fleet", fleet_section, methods=["GET"]),
    Route("/admin/state", state_section, methods=["GET"]),
    Mount("/admin/static", StaticFiles(directory=STATIC), name="static"),
]
