"""A Sentinel deployment named by one URL, read strictly (wa_version_client._sentinel
connects to it).

    redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db][?options]
    rediss+sentinel://…   TLS to the sentinels and to the data nodes
"""

from __future__ import annotations

from dataclasses import dataclass

from wa_version_client._url_parts import split_hosts_url
from wa_version_client.contract._errors import ConfigError

SCHEMES = ("redis+sentinel", "rediss+sentinel")
_OPTIONS = {"sentinel_password", "sentinel_username", "ssl_cert_reqs", "ssl_ca_certs"}


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """What a `redis+sentinel://` URL names."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ssl_cert_reqs: str | None = None
    ssl_ca_certs: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.sentinel_password) if s)


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0] in SCHEMES


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The sentinels, service, db and credentials of `url`; ConfigError saying what is wrong."""
    if not is_sentinel_url(url):
        raise ConfigError(f"a Sentinel URL starts with {' or '.join(SCHEMES)}://")
    parts = split_hosts_url(url, "a Sentinel URL", _OPTIONS)
    if not parts.path or len(parts.path) > 2:
        raise ConfigError("a Sentinel URL names the service after the hosts: …/service[/db]")
    db = parts.path[1] if len(parts.path) == 2 else "0"
    if not (db.isascii() and db.isdigit()):
        raise ConfigError("the db of a Sentinel URL is a number: …/service/0")
    options = parts.options
    return SentinelTarget(
        sentinels=parts.hosts,
        service=parts.path[0],
        db=int(db),
        username=parts.username,
        password=parts.password,
        tls=parts.scheme == "rediss+sentinel",
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
        ssl_cert_reqs=options.get("ssl_cert_reqs"),
        ssl_ca_certs=options.get("ssl_ca_certs"),
    )
