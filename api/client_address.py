"""Who is asking: the client address the brake on guessing counts by, one no client chooses.

Behind proxies, each proxy *appends* the address it got the request from to
X-Forwarded-For (Heroku's router does); everything to the left of those entries is
whatever the client wrote. So with `TRUSTED_PROXY_HOPS=N` the client is the N-th entry
from the right, the last one a proxy we run wrote; with 0 (no proxy) it is the TCP peer
and X-Forwarded-For is ignored. uvicorn's own proxy handling is off (`--no-proxy-headers`
in the Procfile): with `FORWARDED_ALLOW_IPS=*` it took an address the client chose.

The address is validated and reduced to a bucket of bounded size: an IPv4 address, an
IPv6 /64 (one subscriber's allocation, so rotating through it changes nothing), or
`invalid` for anything that is not an IP.

Behind trusted proxies the scheme is the one the last of them reports in
X-Forwarded-Proto (Heroku's router: https): the admin page's cookie is `Secure` and its
same-origin check expects `https://` origins when the browser spoke https to the proxy.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

INVALID = "invalid"
PROTO = b"x-forwarded-proto"


def client_bucket(peer: str | None, forwarded_for: list[str], hops: int) -> str:
    """The bucket of the client address, for `hops` trusted proxies in front of us."""
    if hops <= 0:
        return bucket(peer or "")
    chain = [entry.strip() for header in forwarded_for for entry in header.split(",")]
    chain = [entry for entry in chain if entry]
    if len(chain) < hops:
        return bucket(peer or "")  # not through all our proxies: only the peer is known
    return bucket(chain[-hops])


def bucket(address: str) -> str:
    """`address` normalised: IPv4 as is, IPv6 as its /64, anything else `invalid`."""
    text = address.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return INVALID
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def forwarded_scheme(values: list[str], scheme: str) -> str:
    """The scheme the last proxy reports (the last entry of X-Forwarded-Proto), if it is
    http or https; else `scheme`, what the server saw."""
    entries = [entry.strip().lower() for value in values for entry in value.split(",")]
    reported = entries[-1] if entries else ""
    return reported if reported in ("http", "https") else scheme


class ClientAddress:
    """Puts the client's bucket in `scope["client"]`, for the brake and the access log;
    behind trusted proxies, the scheme they report in `scope["scheme"]`."""

    def __init__(self, app: ASGIApp, trusted_hops: int = 0) -> None:
        self.app = app
        self.trusted_hops = trusted_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            peer = scope.get("client")
            forwarded = [
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
            ]
            address = client_bucket(peer[0] if peer else None, forwarded, self.trusted_hops)
            scope["client"] = (address, peer[1] if peer else 0)
            if self.trusted_hops > 0:
                protos = [v.decode("latin-1") for n, v in scope["headers"] if n == PROTO]
                scope["scheme"] = forwarded_scheme(protos, scope.get("scheme", "http"))
        await self.app(scope, receive, send)
