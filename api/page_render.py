"""Rendering the admin page: Starlette's Jinja2Templates (autoescaped), and the headers
every page answer carries.

The Content-Security-Policy allows scripts and styles from the service's own origin only
(api/static/), no inline ones at all; `frame-ancestors 'none'` keeps the page out of
other sites' frames, and `form-action 'self'` keeps its forms posting here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from api.openapi_parts import VERSION_PATTERN
from api.services import Services
from shared.fleet import Fleet, Manager
from wa_version_client.contract import WAVersion, format_time

HERE = Path(__file__).parent
STATIC = HERE / "static"
HISTORY_SHOWN = 20

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _iso(moment: datetime | None) -> str:
    return format_time(moment) if moment else ""


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["iso"] = _iso
# The pin form's pattern: what the API accepts (an HTML pattern is anchored already).
templates.env.globals["version_pattern"] = VERSION_PATTERN.removeprefix("^").removesuffix("$")


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The template `name`, with the page's headers."""
    return templates.TemplateResponse(
        request, name, dict(context or {}), status, {**PAGE_HEADERS, **(headers or {})}
    )


def to_dashboard() -> Response:
    """303 back to the dashboard, after an action (its outcome waits in the session)."""
    return RedirectResponse("/admin/", 303, headers=PAGE_HEADERS)


@dataclass(frozen=True, slots=True)
class FleetView:
    """The fleet as the page shows it: managers marked behind the current version."""

    fleet: Fleet | None
    problem: str  # why there is no fleet to show, when there is none
    current: WAVersion | None

    def behind(self, manager: Manager) -> bool:
        if self.current is None:
            return False
        return manager.version is None or manager.version < self.current


async def fleet_view(services: Services, current: WAVersion | None) -> FleetView:
    """The fleet; when no server could be listed (logged), the page says so and shows
    the rest."""
    fleet = await services.fleet.read_or_none()
    return FleetView(fleet, "" if fleet else "The fleet could not be listed just now.", current)


async def dashboard(
    request: Request, services: Services, notice: str, status: int = 200
) -> Response:
    """The dashboard: the state, its history, the fleet, and `notice` (the last outcome)."""
    context = await state_context(services)
    context["fleet"] = await fleet_view(services, context["state"].version)
    context["notice"] = notice
    return page(request, "dashboard.html", context, status)


async def state_context(services: Services) -> dict[str, Any]:
    """What state.html and history.html show: the dashboard's, and GET /admin/state's."""
    state = await services.refresh.current()
    return {
        "state": state,
        "version": _shown(state.version, "none"),
        "upstream": _shown(state.upstream, "unknown"),
        "history": await services.store.history(HISTORY_SHOWN),
    }


def _shown(version: WAVersion | None, absent: str) -> str:
    return absent if version is None else str(version)
