"""The one place a URL's scheme is read: the deployment it names, chosen once.

Every program that talks to the service's Redis (the service itself, a connection
manager's own commands) takes the same URL and environment (`REDIS_URL`, …), so TLS
options, timeouts, retries and failover behave the same everywhere.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Callable, Mapping

from redis.asyncio import Redis

from wa_version_client._cluster import ClusterDeployment
from wa_version_client._deployment import Deployment, RedisClient
from wa_version_client._sentinel import SentinelDeployment
from wa_version_client._server import SingleServer
from wa_version_client.contract._errors import ConfigError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

_KINDS: dict[str, Callable[[str], Deployment]] = {
    "redis": SingleServer,
    "rediss": SingleServer,
    "unix": SingleServer,
    "redis+sentinel": SentinelDeployment.from_url,
    "rediss+sentinel": SentinelDeployment.from_url,
    "redis+cluster": ClusterDeployment.from_url,
    "rediss+cluster": ClusterDeployment.from_url,
}


def deployment_for(url: str) -> Deployment:
    """The deployment `url` names; ConfigError, saying what is wrong, for a URL this
    library does not connect to (a malformed Sentinel or Cluster URL is refused now,
    not at the first command)."""
    scheme, separator, _ = url.partition("://")
    kind = _KINDS.get(scheme) if separator else None
    if kind is None:
        schemes = ", ".join(f"{name}://" for name in _KINDS)
        raise ConfigError(f"REDIS_URL must start with one of {schemes}")
    return kind(url)


def reading_deployment(
    primary: Deployment, read_from_replica: bool, replica_url: str | None
) -> Deployment:
    """Where a subscriber reads: `primary`, or with `read_from_replica` its replicas (a
    Sentinel or Cluster URL), or the replica `replica_url` names."""
    if replica_url:
        return deployment_for(replica_url).as_replica()
    return primary.replicas() if read_from_replica else primary


def check_redis_url(url: str) -> None:
    """Raise ConfigError unless `url` is a Redis URL this library connects to."""
    deployment_for(url)


def url_secrets(url: str) -> tuple[str, ...]:
    """The passwords in a Redis URL (a Sentinel URL may hold two); none when there are none."""
    with contextlib.suppress(ConfigError):
        return deployment_for(url).secrets
    return ()


def connect(url: str, *, max_connections: int = 64, replica: bool = False) -> RedisClient:
    """A pooled client of the deployment `url` names; with `replica`, of its replicas."""
    deployment = deployment_for(url)
    chosen = deployment.replicas() if replica else deployment
    return chosen.connect(max_connections=max_connections)


def connect_server(url: str, *, max_connections: int = 64, subscriber: bool = False) -> Redis:
    """A client of one server: the URL's, or the primary a Sentinel deployment names
    (ConfigError for a cluster). `subscriber`: connections for a SubscribedConnection."""
    return deployment_for(url).server_client(max_connections=max_connections, subscriber=subscriber)


def read_from(where: str) -> bool:
    """REDIS_READ_FROM: `primary` (the default) or `replica`; whether it says replica."""
    if where not in {"primary", "replica"}:
        raise ConfigError(f"REDIS_READ_FROM={where[:20]!r}: use primary or replica")
    return where == "replica"


def redis_url_from_env(env: Mapping[str, str]) -> str:
    """The Redis URL the environment names, with its TLS options, for every process.

    `REDIS_URL`, else `REDIS_TLS_URL` (Heroku's older name), else a local Redis; on a
    TLS URL, `REDIS_SSL_CERT_REQS` and `REDIS_SSL_CA_CERTS` as redis-py's `ssl_cert_reqs`
    and `ssl_ca_certs`, unless the URL says already. A Sentinel URL
    (wa_version_client._sentinel) takes REDIS_SENTINEL_PASSWORD as `sentinel_password`.
    """
    url = env.get("REDIS_URL") or env.get("REDIS_TLS_URL") or DEFAULT_REDIS_URL
    deployment = deployment_for(url)
    for name, value in deployment.env_options(env).items():
        url = _with_option(url, name, value)
    return _with_tls_options(url, deployment.tls, env)


def replica_url_from_env(env: Mapping[str, str]) -> str | None:
    """REDIS_REPLICA_URL with the TLS options REDIS_URL gets; None when unset."""
    url = env.get("REDIS_REPLICA_URL", "").strip()
    if not url:
        return None
    return _with_tls_options(url, deployment_for(url).tls, env)


def _with_tls_options(url: str, tls: bool, env: Mapping[str, str]) -> str:
    """`url` with `ssl_cert_reqs` and `ssl_ca_certs` from the environment, unless it says.

    Heroku's Key-Value Store serves TLS with a self-signed certificate and sets REDIS_URL
    itself: REDIS_SSL_CERT_REQS=none accepts it without editing the URL. Whoever verifies
    names the CA bundle (or the server's own certificate) in REDIS_SSL_CA_CERTS.
    """
    if not tls:
        return url
    cert_reqs = env.get("REDIS_SSL_CERT_REQS", "").strip()
    ca_certs = env.get("REDIS_SSL_CA_CERTS", "").strip()
    options = []
    if cert_reqs and "ssl_cert_reqs=" not in url:
        if cert_reqs not in {"none", "optional", "required"}:
            raise ConfigError(
                f"REDIS_SSL_CERT_REQS={cert_reqs[:20]!r}: use none, optional or required"
            )
        options.append(f"ssl_cert_reqs={cert_reqs}")
    if ca_certs and "ssl_ca_certs=" not in url:
        if not os.path.isfile(ca_certs):
            raise ConfigError(f"REDIS_SSL_CA_CERTS={ca_certs[:200]!r} is not a readable file")
        options.append(f"ssl_ca_certs={urllib.parse.quote(ca_certs, safe='/')}")
    if not options:
        return url
    return f"{url}{'&' if '?' in url else '?'}{'&'.join(options)}"


def _with_option(url: str, name: str, value: str) -> str:
    """`url` with `name=value` added, unless `value` is blank or the URL names it already."""
    if not value.strip():
        return url
    _, _, query = url.partition("?")
    if name in dict(urllib.parse.parse_qsl(query, keep_blank_values=True)):
        return url
    return f"{url}{'&' if '?' in url else '?'}{name}={urllib.parse.quote(value, safe='')}"
