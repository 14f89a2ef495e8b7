"""Which redirects an upstream may send the worker on, and following them.

WhatsApp Web serves sw.js and its home page from web.whatsapp.com itself (its static
bundles come from static.whatsapp.net, which the worker never reads); the one redirect it
is known to send is the gate's, to a mobile page. So by default a redirect is followed
only:

- on the source's own host: the same host name as the URL configured, whatever the port
  (not "the same registrable domain": that would need the public-suffix list and would
  still not cover whatsapp.com -> whatsapp.net);
- only to http and https, and never from https to http (an http:// source, a mirror on
  a private network or a test stub, may redirect over http on its own host);
- at most `MAX_REDIRECTS` times (a loop ends in httpx.TooManyRedirects).

`FETCH_REDIRECT_HOSTS` lists more hosts a redirect may go to (a mirror behind a CDN):
`cdn.example.net`, or `*.example.net` for any host under it. A refused redirect is a
`FetchError`, not retried: the next source is asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from shared.errors import FetchError

# A redirect to the moved file is followed; a loop ends after this many with
# httpx.TooManyRedirects (httpx's default is 20), and the fetcher tries the next source.
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class RedirectPolicy:
    """The hosts besides the source's own that a redirect may go to (FETCH_REDIRECT_HOSTS)."""

    also_allowed: tuple[str, ...] = ()

    def check(self, source: httpx.URL, target: httpx.URL) -> None:
        """Return if a redirect from the source `source` to `target` may be followed."""
        if target.scheme not in ("http", "https"):
            # Not a fetch that might pass on a retry: httpx cannot even send it.
            raise FetchError(f"redirect refused: to a {target.scheme}: URL")
        if source.scheme == "https" and target.scheme != "https":
            raise FetchError(f"redirect refused: from https to {target.scheme}://{target.host}")
        if target.host != source.host and not self._listed(target.host):
            raise FetchError(
                f"redirect refused: to {target.host}, another host than {source.host} "
                "(FETCH_REDIRECT_HOSTS lists the hosts a redirect may go to)"
            )

    def _listed(self, host: str) -> bool:
        return any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
            for allowed in self.also_allowed
        )


@asynccontextmanager
async def following_redirects(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str], policy: RedirectPolicy
) -> AsyncIterator[httpx.Response]:
    """The streamed answer to a GET of `url`, after the redirects `policy` allows.

    httpx follows redirects before a response is seen; here each is asked for with
    `follow_redirects=False`, whose answer carries the request httpx would send next
    (`next_request`: its method, headers and credentials handled as httpx does), and that
    request's URL is checked before it is sent.
    """
    source = httpx.URL(url)
    request = client.build_request("GET", url, headers=headers)
    redirects = 0
    while True:
        response = await client.send(request, stream=True, follow_redirects=False)
        following = response.next_request
        if following is None:
            break
        await response.aclose()
        if redirects == MAX_REDIRECTS:
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        policy.check(source, following.url)
        redirects += 1
        request = following
    try:
        yield response
    finally:
        await response.aclose()
