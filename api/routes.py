"""The handlers: check the secret, parse, call the refresh client, answer."""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import actions
from api.bodies import parse_pinned_version, read_json_object
from api.envelope import ApiError, success
from api.event_stream import VersionEventStream, last_event_id
from api.openapi import OPENAPI
from api.page_auth import logged_in
from api.services import Services
from shared.health import readiness_problems
from shared.metrics import render
from wa_version_client.contract import ConfigError

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def parse_force(raw: str | None) -> bool:
    """`force` is true unless the query says otherwise; unknown words are a 400."""
    if raw is None:
        return True
    word = raw.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ApiError(400, f"force must be true or false (also 1/0, yes/no, on/off), got {raw[:40]!r}")


def parse_limit(raw: str | None) -> int:
    """How many history entries to show: 20 unless the query says 1 to 1000."""
    if raw is None:
        return 20
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 4 and not raw.startswith("0")
    if not digits or not 1 <= int(raw) <= 1000:
        raise ApiError(400, f"limit must be a whole number from 1 to 1000, got {raw[:40]!r}")
    return int(raw)


async def _services(request: Request) -> Services:
    """The services, once the request has shown it may use them."""
    services: Services = request.state.services
    await services.auth.require(request)
    return services


async def refresh_version(request: Request) -> JSONResponse:
    services = await _services(request)
    force = parse_force(request.query_params.get("force"))
    result = await actions.refresh(services, force=force)
    data = {"refreshed": result.refreshed, **result.state.to_json()}
    return success("WhatsApp Web version refreshed successfully", data)


class VersionResource(HTTPEndpoint):
    """/admin/whatsapp/version: one endpoint for both methods, so a 405 lists both."""

    async def get(self, request: Request) -> JSONResponse:
        services = await _services(request)
        state = await services.refresh.current()
        return success("WhatsApp Web version retrieved successfully", state.to_json())

    async def put(self, request: Request) -> JSONResponse:
        """Pin a version: applied and announced now; fetches stop applying until unpinned."""
        services = await _services(request)
        body = await read_json_object(request, services.body_timeout)
        state = await actions.pin(services, parse_pinned_version(body))
        return success("WhatsApp Web version pinned", state.to_json())


async def unpin_version(request: Request) -> JSONResponse:
    """Unpin: the version upstream reported last applies, and a forced refresh is asked
    for (not awaited), so the state soon reflects upstream now."""
    services = await _services(request)
    state = await actions.unpin(services)
    return success("WhatsApp Web version unpinned", state.to_json())


async def version_history(request: Request) -> JSONResponse:
    """The last applied versions, newest first: what, when, why (fetch, pin, unpin)."""
    services = await _services(request)
    entries = await services.store.history(parse_limit(request.query_params.get("limit")))
    return success(
        "WhatsApp Web version history retrieved successfully",
        {"history": [json.loads(entry.encode()) for entry in entries]},
    )


async def fleet(request: Request) -> JSONResponse:
    """Which manager holds which version: the servers' named clients (shared/fleet.py)."""
    services = await _services(request)
    try:
        listed = await services.fleet.read()
    except ConfigError as exc:  # a deployment whose clients are not listed yet
        raise ApiError(501, str(exc)) from None
    return success("WhatsApp fleet retrieved successfully", listed.to_json())


async def version_events(request: Request) -> Response:
    """Server-Sent Events: the current version, then each change (api/event_stream.py).
    The admin page's session (api/page_auth.py) lets its script in without the secret."""
    services: Services = request.state.services
    if not logged_in(request):
        await services.auth.require(request)
    return VersionEventStream(services.events, last_event_id(request), services.event_ping)


async def metrics(request: Request) -> Response:
    """Prometheus text: this process's counters and the workers' (from Redis)."""
    services: Services = request.state.services
    await services.auth.require(request, metrics=True)
    losses = services.results.subscription.losses
    verdict = services.persistence.verdict
    fleet = await services.fleet.read_or_none()
    body = await render(services.redis, services.keys, services.metrics, losses, verdict, fleet)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> JSONResponse:
    """The process is up; no secret needed, nothing revealed."""
    return success("OK", {"alive": True})


async def readyz(request: Request) -> JSONResponse:
    """Ready when Redis answers and a worker reads jobs; 503 saying what is missing.
    `warnings`: what is wrong without stopping the service (Redis keeps nothing on disk)."""
    services: Services = request.state.services
    problems = await readiness_problems(services.redis, services.keys, services.heartbeat_within)
    if problems:
        raise ApiError(503, "not ready: " + "; ".join(problems))
    return success("Ready", {"ready": True, "warnings": services.persistence.warnings})


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


routes = [
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/admin/whatsapp/version/refresh", refresh_version, methods=["POST"]),
    Route("/admin/whatsapp/version", VersionResource),
    Route("/admin/whatsapp/version/pin", unpin_version, methods=["DELETE"]),
    Route("/admin/whatsapp/version/history", version_history, methods=["GET"]),
    Route("/admin/whatsapp/fleet", fleet, methods=["GET"]),
    Route("/admin/whatsapp/version/events", version_events, methods=["GET"]),
]
