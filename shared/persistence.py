"""Whether the Redis server holding the state keeps it across a restart.

A server with neither AOF (`appendonly yes`) nor RDB save points keeps nothing on disk:
a restart empties it, and with the hash goes any pin an operator was answered 200 for.
The next refresh then applies whatever upstream serves, unpinned. Nothing in the service
can undo that, so it says so where an operator looks: a warning in the log, a line in
/readyz's `warnings`, and the `wa_redis_persistence` metric.

When: at start and after every reconnect, as a `PersistenceWatch` hears of them (a
subscription of its own: a restart or a failover cuts it, and each new subscription
checks again). Never per request: two commands, a few times in a process's life.

Which server: the one holding the version hash (`Deployment.ask_holder`): the one
server, the primary the sentinels name now (a failover cuts the subscription, so the new
primary is checked), or on a cluster the primary of the prefix's slot. Replicas are not
checked: one matters once a failover makes it the primary, and it is checked then.

`INFO persistence` says whether AOF is on but not the RDB save points; `CONFIG GET save`
does, and managed servers (ElastiCache, Heroku) or an ACL may refuse CONFIG: then, AOF
being off, whether the state survives is "unknown" (said at info level: such servers
usually snapshot by settings of their own, outside Redis's configuration).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from redis.exceptions import ResponseError

from shared.keys import ServiceKeys
from wa_version_client.deployment import REDIS_DOWN, Deployment, RedisClient, describe

log = logging.getLogger(__name__)

KEPT, LOST, UNKNOWN = "kept", "lost", "unknown"  # what a restart does to the state
VERDICTS = (KEPT, LOST, UNKNOWN)
# A check that takes longer is given up; the next reconnect checks again.
CHECK_TIMEOUT = 5.0

LOST_WARNING = (
    "Redis keeps nothing on disk (appendonly no, no RDB save points): a restart of it "
    "loses the stored version and any pin; turn on AOF or RDB snapshots "
    "(docs/operations.md: Redis persistence)"
)
UNKNOWN_WARNING = (
    "Redis refused CONFIG GET save and AOF is off: whether a pin survives a restart of "
    "Redis is unknown (docs/operations.md: Redis persistence)"
)


@dataclass(frozen=True, slots=True)
class Persistence:
    """What the server said: AOF on or not; its RDB save points, None when refused."""

    aof: bool
    save_points: str | None

    @property
    def verdict(self) -> str:
        """KEPT, LOST or UNKNOWN: what a restart of the server does to the state."""
        if self.aof:
            return KEPT
        if self.save_points is None:
            return UNKNOWN
        return KEPT if self.save_points.strip() else LOST


async def read_persistence(
    deployment: Deployment, redis: RedisClient, keys: ServiceKeys
) -> Persistence:
    """Ask the server holding the version hash. A refused CONFIG is `save_points=None`;
    anything else Redis answers with an error is raised."""
    info = await deployment.ask_holder(redis, keys.version, "INFO", "persistence")
    aof = str(info.get("aof_enabled", "0")) == "1"
    try:
        config = await deployment.ask_holder(redis, keys.version, "CONFIG GET", "save")
    except ResponseError as exc:  # NOPERM, or CONFIG renamed away: "unknown command"
        log.info("Redis refused CONFIG GET save (%s): its RDB save points are unknown", exc)
        return Persistence(aof, None)
    save = config.get("save") if isinstance(config, dict) else None
    return Persistence(aof, None if save is None else str(save))


class PersistenceWatch:
    """Checks at start and after each reconnect; `verdict` is the last check's (UNKNOWN
    until one answered). Run `run()` as a task, then `aclose()`."""

    def __init__(self, deployment: Deployment, redis: RedisClient, keys: ServiceKeys) -> None:
        self._deployment = deployment
        self._redis = redis
        self._keys = keys
        self.verdict = UNKNOWN
        self.checks = 0  # checks that got an answer
        # Any channel would do: what counts is each (re)subscription. The version channel
        # hears a message per version change, a few a day, ignored here.
        self._subscription = deployment.subscribe(
            [keys.version_changed],
            on_message=lambda channel, data: None,
            on_subscribed=self.check,
            max_backoff=2.0,
        )

    @property
    def warnings(self) -> list[str]:
        """What /readyz says of it: nothing while the state survives (or before a check)."""
        if self.checks == 0 or self.verdict == KEPT:
            return []
        return [LOST_WARNING if self.verdict == LOST else UNKNOWN_WARNING]

    async def run(self) -> None:
        await self._subscription.run()

    async def aclose(self) -> None:
        await self._subscription.aclose()

    async def check(self) -> None:
        """Ask now and say what was found; a failure is logged, the verdict kept."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                found = await read_persistence(self._deployment, self._redis, self._keys)
        except (*REDIS_DOWN, ResponseError, TimeoutError) as exc:
            log.warning("could not read Redis's persistence settings: %s", describe(exc))
            return
        self.verdict, self.checks = found.verdict, self.checks + 1
        if found.verdict == LOST:
            log.warning(LOST_WARNING)
        elif found.verdict == UNKNOWN:
            log.info(UNKNOWN_WARNING)
        else:
            log.info("Redis keeps the state across a restart (%s)", _how(found))


def _how(found: Persistence) -> str:
    if found.aof:
        return "AOF on"
    return f"RDB save points {found.save_points}"
