"""A guarded write that counts only once replicas have it and the sentinels still name
its server as the primary (REDIS_WAIT_REPLICAS; see shared/store.py and the README's
High availability): the script's STORE sections, WAIT, then the check of the primary.
What tells others of the write (the messages, the answers stored for callers, letting
the jobs go: the TELL sections) is the caller's to run once this returns.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared.errors import ConfigError, NotReplicated
from shared.plan import Plan
from shared.write_script import STORE, WriteScript
from wa_version_client.deployment import Deployment, RedisClient

# How long a write waits for a failover under way to end before it is told whether the
# server it went to is the primary: about what the sentinels take to finish one.
SETTLE_WITHIN = 5.0


def replicating(deployment: Deployment | None) -> Deployment:
    """`deployment`, once it is known to let a write wait for its replicas; else ConfigError."""
    if deployment is None:
        raise ConfigError("waiting for replicas needs the deployment the client belongs to")
    if not deployment.replicated_writes:
        raise ConfigError(f"waiting for replicas is not supported on {deployment.description} yet")
    return deployment


async def store_replicated(
    deployment: Deployment,
    redis: RedisClient,
    script: WriteScript,
    plan: Plan,
    wait: tuple[int, int],
) -> bool:
    """Run the STORE sections of `plan` on one connection, then WAIT (`wait`: replicas,
    milliseconds) on it.

    False when the script did not write (its guard failed); NotReplicated when fewer
    replicas acknowledged, when the connection was replaced before WAIT answered, or when
    the sentinels no longer name the server written to as the primary.
    """
    replicas, timeout_ms = wait
    async with deployment.one_connection(redis) as one:  # one connection: WAIT sees its writes
        connection = await one.client_id()
        if not await script.run(plan, STORE, client=one):
            return False
        acknowledged = int(await one.wait(replicas, timeout_ms))
        if await one.client_id() != connection:
            # redis-py reconnected and sent WAIT again on a connection that wrote nothing:
            # its answer says nothing of the write.
            raise NotReplicated("the connection was replaced before WAIT answered")
        address = _address(one)
    if acknowledged < replicas:
        raise NotReplicated(
            f"{acknowledged} of {replicas} replicas acknowledged the write within {timeout_ms} ms"
        )
    primary = await deployment.settled_primary(redis, within=SETTLE_WITHIN)
    if address is not None and primary is not None and primary != address:
        # A former primary, frozen and thawed during a failover, took the write: it is lost
        # when the sentinels demote it, so nobody may hear of it.
        raise NotReplicated(f"the write went to {address[0]}:{address[1]}, no longer the primary")
    return True


def _address(client: Redis) -> tuple[str, int] | None:
    """Where a single-connection client's connection goes (None for a unix socket)."""
    connection = client.connection
    host, port = getattr(connection, "host", None), getattr(connection, "port", None)
    return None if host is None or port is None else (str(host), int(port))
