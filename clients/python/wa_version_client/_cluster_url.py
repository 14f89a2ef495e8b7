"""A Redis Cluster named by one URL, read strictly (wa_version_client._cluster connects).

    redis+cluster://[[user]:password@]host:port[,host:port…][/0][?options]
    rediss+cluster://…   TLS to every node

The hosts are where to start: any node of the cluster (a managed service's configuration
endpoint is one); the client learns the rest from them. A cluster has only db 0.
Options: `ssl_cert_reqs` and `ssl_ca_certs` as for `rediss://`.
"""

from __future__ import annotations

from dataclasses import dataclass

from wa_version_client._url_parts import split_hosts_url
from wa_version_client.contract._errors import ConfigError

SCHEMES = ("redis+cluster", "rediss+cluster")
_OPTIONS = {"ssl_cert_reqs", "ssl_ca_certs"}


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    """What a `redis+cluster://` URL names."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ssl_cert_reqs: str | None = None
    ssl_ca_certs: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0] in SCHEMES


def parse_cluster_url(url: str) -> ClusterTarget:
    """The start nodes and credentials of `url`; ConfigError saying what is wrong."""
    if not is_cluster_url(url):
        raise ConfigError(f"a Cluster URL starts with {' or '.join(SCHEMES)}://")
    parts = split_hosts_url(url, "a Cluster URL", _OPTIONS)
    if parts.path not in {(), ("0",)}:
        raise ConfigError("a Cluster URL names no service and no db but 0: …host:port[/0]")
    return ClusterTarget(
        nodes=parts.hosts,
        username=parts.username,
        password=parts.password,
        tls=parts.scheme == "rediss+cluster",
        ssl_cert_reqs=parts.options.get("ssl_cert_reqs"),
        ssl_ca_certs=parts.options.get("ssl_ca_certs"),
    )
