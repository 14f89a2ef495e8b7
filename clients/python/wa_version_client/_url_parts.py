"""Reading the URLs that name several hosts (Sentinel, Cluster), strictly and alike.

    scheme://[[user]:password@]host:port[,host:port…][/path][?options]

What is said of a malformed URL never quotes it: an unescaped '/' or '@' in a password
would put part of the password in the message.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from wa_version_client.contract._errors import ConfigError


@dataclass(frozen=True, slots=True)
class HostsUrl:
    """The parts of a several-hosts URL, credentials and path unquoted."""

    scheme: str
    hosts: tuple[tuple[str, int], ...]
    path: tuple[str, ...]
    username: str | None
    password: str | None
    options: dict[str, str]


def split_hosts_url(url: str, kind: str, known_options: Collection[str]) -> HostsUrl:
    """`url`'s parts; ConfigError naming `kind` ("a Sentinel URL") when malformed."""
    scheme, _, rest = url.partition("://")
    if "#" in rest:
        raise ConfigError(f"{kind} has no #fragment ('#' in a password is %23)")
    if "?" in rest.rpartition("@")[0]:
        # Read as the options, a password's tail would be quoted back as an unknown one.
        raise ConfigError(f"a '?' in the credentials of {kind} must be percent-encoded (%3F)")
    location, _, query = rest.partition("?")
    # The credentials end at the last '@', so a '/' in a password cannot pass for a path.
    userinfo, _, hosts_and_path = location.rpartition("@")
    hosts, _, path = hosts_and_path.partition("/")
    username, password = _credentials(userinfo)
    return HostsUrl(
        scheme=scheme,
        hosts=tuple(_address(h, kind) for h in hosts.split(",")),
        path=tuple(urllib.parse.unquote(p) for p in path.split("/") if p),
        username=username,
        password=password,
        options=_options(query, kind, known_options),
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (
        urllib.parse.unquote(user) or None,
        urllib.parse.unquote(password) if colon else None,
    )


def _address(host_port: str, kind: str) -> tuple[str, int]:
    host, colon, port = host_port.strip().rpartition(":")
    bare_colon = ":" in host and not (host.startswith("[") and host.endswith("]"))
    digits = port.isascii() and port.isdigit()
    blank = not host or any(c.isspace() for c in host)
    if not colon or blank or bare_colon or not digits or not 0 < int(port) <= 65535:
        raise ConfigError(
            f"each host in {kind} is host:port (a password with '/', '@', ':' or '?' "
            "must be percent-encoded)"
        )
    return host.strip("[]"), int(port)


def _options(query: str, kind: str, known: Collection[str]) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    options = dict(pairs)
    if len(options) < len(pairs):
        raise ConfigError(f"{kind} names each option once")
    unknown = set(options) - set(known)
    if unknown:
        names = ", ".join(sorted(known))
        raise ConfigError(f"unknown option {sorted(unknown)[0][:40]!r} in {kind}; know {names}")
    return options


def tls_options(tls: bool, cert_reqs: str | None, ca_certs: str | None) -> dict[str, Any]:
    """redis-py's connection options for a `rediss+…://` URL's TLS and its two options."""
    if not tls:
        return {}
    options: dict[str, Any] = {"ssl": True}
    if cert_reqs:
        options["ssl_cert_reqs"] = cert_reqs
    if ca_certs:
        options["ssl_ca_certs"] = ca_certs
    return options
