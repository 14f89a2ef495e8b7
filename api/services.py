"""What the lifespan opens for the handlers: the JSON API's (api/routes.py) and the page's
(api/admin_page.py) alike."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth import AdminAuth
from shared.events import VersionEvents
from shared.fleet import FleetReader
from shared.keys import ServiceKeys
from shared.metrics import WebMetrics
from shared.persistence import PersistenceWatch
from shared.refresh_client import RefreshClient
from shared.results import ResultWaiter
from shared.store import StateStore
from wa_version_client.deployment import RedisClient


@dataclass(frozen=True, slots=True)
class Services:
    """What the lifespan opened for the handlers, each named for what a handler needs."""

    auth: AdminAuth
    refresh: RefreshClient
    store: StateStore
    metrics: WebMetrics
    redis: RedisClient
    keys: ServiceKeys
    results: ResultWaiter
    # A worker beats every third of its lease at least; three missed beats: gone.
    heartbeat_within: float
    persistence: PersistenceWatch
    fleet: FleetReader
    # A body must have arrived this long after the headers: api/protocol.py closes the
    # connection then on every route; a route reading the body bounds its wait the same
    # way, for when the app is served without that protocol.
    body_timeout: float
    # The version as this process follows it, for the event streams; and their ping.
    events: VersionEvents
    event_ping: float
