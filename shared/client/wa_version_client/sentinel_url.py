"""A Sentinel deployment named by one URL, read strictly (wa_version_client.sentinel
connects to it).

    redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db][?options]
    rediss+sentinel://…   TLS to the sentinels and to the data nodes
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from wa_version_client.contract.errors import ConfigError

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
    scheme, _, rest = url.partition("://")
    if scheme not in SCHEMES:
        raise ConfigError(f"a Sentinel URL starts with {' or '.join(SCHEMES)}://")
    if "#" in rest:
        raise ConfigError("a Sentinel URL has no #fragment ('#' in a password is %23)")
    location, _, query = rest.partition("?")
    # The credentials end at the last '@', so a '/' in a password cannot pass for a path.
    userinfo, _, hosts_and_path = location.rpartition("@")
    hosts, _, path = hosts_and_path.partition("/")
    username, password = _credentials(userinfo)
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ConfigError("a Sentinel URL names the service after the hosts: …/service[/db]")
    if len(parts) == 2 and not (parts[1].isascii() and parts[1].isdigit()):
        # What is said never quotes the URL: an unescaped '/' or '@' in a password would
        # put part of it here.
        raise ConfigError("the db of a Sentinel URL is a number: …/service/0")
    options = _options(query)
    return SentinelTarget(
        sentinels=tuple(_address(h) for h in hosts.split(",")),
        service=urllib.parse.unquote(parts[0]),
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=username,
        password=password,
        tls=scheme == "rediss+sentinel",
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
        ssl_cert_reqs=options.get("ssl_cert_reqs"),
        ssl_ca_certs=options.get("ssl_ca_certs"),
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (
        urllib.parse.unquote(user) or None,
        urllib.parse.unquote(password) if colon else None,
    )


def _address(host_port: str) -> tuple[str, int]:
    host, colon, port = host_port.strip().rpartition(":")
    bare_colon = ":" in host and not (host.startswith("[") and host.endswith("]"))
    digits = port.isascii() and port.isdigit()
    if not colon or not host or bare_colon or not digits or int(port) > 65535:
        raise ConfigError(
            "each sentinel in a Sentinel URL is host:port (a password with '/', '@' or ':' "
            "must be percent-encoded)"
        )
    return host.strip("[]"), int(port)


def _options(query: str) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    options = dict(pairs)
    if len(options) < len(pairs):
        raise ConfigError("a Sentinel URL names each option once")
    unknown = set(options) - _OPTIONS
    if unknown:
        names = ", ".join(sorted(_OPTIONS))
        raise ConfigError(f"unknown Sentinel URL option {sorted(unknown)[0][:40]!r}; know {names}")
    return options
