"""The Starlette application.

`create_app(settings)` builds it; `app` (what the Procfile serves) builds it from the
environment on first access, so importing this module reads no environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware

from api.admin_page import page_routes
from api.auth import AdminAuth, FailedAuthLimiter
from api.client_address import ClientAddress
from api.connection_limits import GUARD_KEY, ConnectionGuard, ConnectionLimits
from api.error_handlers import EXCEPTION_HANDLERS, CatchUnexpected
from api.header_limit import HeaderLimit
from api.no_sniff import NoSniff
from api.page_auth import PageSession
from api.request_id import RequestId
from api.routes import routes
from api.services import Services
from shared.errors import ConfigError
from shared.events import VersionEvents
from shared.fleet import FleetReader
from shared.keys import ServiceKeys
from shared.logs import hide, setup_logging
from shared.metrics import WebMetrics
from shared.persistence import PersistenceWatch
from shared.refresh_client import refresh_client
from shared.settings import Settings
from shared.store import StateStore
from wa_version_client import VersionSubscriber
from wa_version_client.runtime import cancel_and_wait

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Redis and everything the handlers use, for the app's lifetime.

    Redis may not be up yet: requests answer 503 meanwhile, rather than the process
    failing to start.
    """
    # Bounded: a flood of requests (say, wrong guesses, each counted in Redis) waits for
    # one of these instead of opening a connection per concurrent request.
    redis = settings.deployment.connect(max_connections=settings.web_redis_connections)
    keys = ServiceKeys(settings.redis_prefix)
    limiter = FailedAuthLimiter(
        redis, keys, limit=settings.auth_failure_limit, window=settings.auth_failure_window
    )
    secrets = (settings.admin_secret, settings.admin_secret_previous)
    persistence = PersistenceWatch(settings.deployment, redis, keys)
    watching = asyncio.create_task(persistence.run(), name="persistence-watch")
    # The version as this process follows it: one subscription, whatever the streams.
    # client=None: its connection stays unnamed, so the fleet counts no manager for it.
    subscriber = VersionSubscriber(settings.redis_url, prefix=settings.redis_prefix, client=None)
    events = VersionEvents(subscriber, max_streams=settings.max_event_streams)
    await events.start()
    metrics = WebMetrics()
    metrics.event_streams.set_function(lambda: events.open_streams)
    try:
        async with refresh_client(redis, keys, settings) as client:
            yield Services(
                auth=AdminAuth(secrets, limiter, settings.metrics_token),
                refresh=client,
                store=StateStore.for_settings(redis, keys, settings, client.held.changed),
                metrics=metrics,
                redis=redis,
                keys=keys,
                results=client.waiter,
                heartbeat_within=settings.worker_lease_ttl,
                persistence=persistence,
                fleet=FleetReader(settings.deployment, redis),
                body_timeout=settings.body_timeout,
                events=events,
                event_ping=settings.event_ping_interval,
            )
    finally:
        await events.aclose()
        await cancel_and_wait(watching)
        await persistence.aclose()
        await redis.aclose()


def create_app(settings: Settings) -> Starlette:
    """The app for `settings`; Redis is opened by the lifespan, not here."""
    settings.require_admin_secret()
    hide(*settings.secrets())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        # The guard is read by api/protocol.py, which uvicorn makes before any request.
        guard = ConnectionGuard(ConnectionLimits.for_settings(settings))
        async with open_services(settings) as services:
            yield {"services": services, GUARD_KEY: guard}

    app = Starlette(
        routes=[*routes, *page_routes],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(RequestId),
            Middleware(NoSniff),
            Middleware(CatchUnexpected),
            Middleware(ClientAddress, trusted_hops=settings.trusted_proxy_hops),
            Middleware(HeaderLimit),
            # After ClientAddress: the cookie is Secure by the scheme the proxies report.
            Middleware(PageSession, secret_key=settings.session_key()),
        ],
        lifespan=lifespan,
    )
    # `/healthz/` is a 404, not a 307 to a URL built from the client's Host header.
    app.router.redirect_slashes = False
    return app


def __getattr__(name: str) -> Starlette:
    # PEP 562: `uvicorn api.app:app` lands here. A missing ADMIN_SECRET stops the
    # process with one clear line instead of a traceback.
    if name != "app":
        raise AttributeError(name)
    setup_logging()
    try:
        return create_app(Settings.from_env())
    except ConfigError as exc:
        raise SystemExit(f"web: {exc}") from None
