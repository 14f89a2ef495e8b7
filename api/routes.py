"""The handlers: check the secret, parse, call the refresh client, answer."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.auth import require_admin
from api.envelope import ApiError, success
from shared.errors import ResultTimeout
from shared.refresh import RefreshClient

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class Services:
    """What the lifespan opened for the handlers."""

    admin_secret: str
    refresh: RefreshClient


def parse_force(raw: str | None) -> bool:
    """`force` is true unless the query says otherwise; unknown words are a 400."""
    if raw is None:
        return True
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ApiError(400, f"force must be true or false (also 1/0, yes/no, on/off), got {raw[:40]!r}")


def _services(request: Request) -> Services:
    services: Services = request.state.services
    require_admin(request, services.admin_secret)
    return services


async def refresh_version(request: Request) -> JSONResponse:
    services = _services(request)
    force = parse_force(request.query_params.get("force"))
    try:
        result = await services.refresh.refresh(force=force)
    except ResultTimeout as exc:
        raise ApiError(504, str(exc)) from None
    if result.error:
        raise ApiError(500, result.error, message="Failed to refresh WhatsApp Web version")
    data = {"refreshed": result.refreshed, **result.state.to_json()}
    return success("WhatsApp Web version refreshed successfully", data)


async def get_version(request: Request) -> JSONResponse:
    services = _services(request)
    state = await services.refresh.current()
    return success("WhatsApp Web version retrieved successfully", state.to_json())


routes = [
    Route("/admin/whatsapp/version/refresh", refresh_version, methods=["POST"]),
    Route("/admin/whatsapp/version", get_version, methods=["GET"]),
]
