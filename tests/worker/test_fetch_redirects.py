"""Redirects against httpx.MockTransport: followed on the source's own host over https (or
to a host FETCH_REDIRECT_HOSTS lists), refused anywhere else, and the next source asked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.errors import ConfigError, FetchError, TransientFetchError
from shared.settings import Settings
from tests.worker.test_fetch import HOME, HOME_BODY, SW, SW_BODY, fetcher, served
from worker.fetch import Fetched


class Redirecting:
    """sw.js answers a 302 to `location`; wherever that leads, and the home page, answer
    with a page; every URL asked for is kept."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(str(request.url))
        if str(request.url) == SW:
            return httpx.Response(302, headers={"Location": self.location})
        return served(200, HOME_BODY if str(request.url) == HOME else SW_BODY)

    async def fetch(self, **changes: Any) -> Fetched:
        return await fetcher(self, **changes).fetch()


@pytest.mark.parametrize(
    "location",
    ["/moved/sw.js", "https://web.whatsapp.com/moved/sw.js", "https://WEB.whatsapp.com/x.js"],
    ids=["relative", "absolute", "host-in-capitals"],
)
async def test_a_redirect_on_the_sources_own_host_is_followed(location: str) -> None:
    upstream = Redirecting(location)
    fetched = await upstream.fetch()
    assert (fetched.source, fetched.version.patch) == (SW, 1026131876)
    assert len(upstream.calls) == 2


@pytest.mark.parametrize(
    ("location", "refusal"),
    [
        (
            "https://static.whatsapp.net/sw.js",
            "redirect refused: to static.whatsapp.net, another host than web.whatsapp.com "
            "(FETCH_REDIRECT_HOSTS lists the hosts a redirect may go to)",
        ),
        (
            "https://web.whatsapp.com.evil.example/sw.js",
            "redirect refused: to web.whatsapp.com.evil.example, another host than "
            "web.whatsapp.com (FETCH_REDIRECT_HOSTS lists the hosts a redirect may go to)",
        ),
        (
            "http://web.whatsapp.com/sw.js",
            "redirect refused: from https to http://web.whatsapp.com",
        ),
    ],
    ids=["another-host", "lookalike-host", "https-to-http"],
)
async def test_a_redirect_off_the_site_is_refused_and_the_next_source_answers(
    location: str, refusal: str
) -> None:
    """Not followed (the target is never asked), not retried; the home page answers. Alone,
    the source's error says why."""
    upstream = Redirecting(location)
    fetched = await upstream.fetch()
    assert (fetched.source, upstream.calls) == (HOME, [SW, HOME])
    alone = Redirecting(location)
    with pytest.raises(FetchError) as caught:
        await alone.fetch(version_urls=(SW,))
    assert not isinstance(caught.value, TransientFetchError)
    assert (str(caught.value), alone.calls) == (f"{SW}: {refusal}", [SW])


@pytest.mark.parametrize(
    ("allowed", "location"),
    [
        ("static.whatsapp.net", "https://static.whatsapp.net/sw.js"),
        ("*.whatsapp.net", "https://static.whatsapp.net/sw.js"),
        ("*.whatsapp.net", "https://a.b.whatsapp.net/sw.js"),
    ],
)
async def test_a_host_fetch_redirect_hosts_lists_is_followed(allowed: str, location: str) -> None:
    upstream = Redirecting(location)
    fetched = await upstream.fetch(fetch_redirect_hosts=(allowed,))
    assert (fetched.source, upstream.calls) == (SW, [SW, location])


@pytest.mark.parametrize(
    ("allowed", "location"),
    [
        ("*.whatsapp.net", "https://whatsapp.net/sw.js"),
        ("*.whatsapp.net", "https://evilwhatsapp.net/sw.js"),
        ("static.whatsapp.net", "http://static.whatsapp.net/sw.js"),
    ],
    ids=["wildcard-not-the-domain", "wildcard-lookalike", "listed-but-http"],
)
async def test_what_fetch_redirect_hosts_does_not_open(allowed: str, location: str) -> None:
    upstream = Redirecting(location)
    fetched = await upstream.fetch(fetch_redirect_hosts=(allowed,))
    assert (fetched.source, upstream.calls) == (HOME, [SW, HOME])


async def test_a_chain_is_checked_against_the_source_not_the_last_hop() -> None:
    """web.whatsapp.com -> a listed CDN -> a third host: the third is refused."""
    cdn = "https://cdn.example.net/sw.js"
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if str(request.url) == SW:
            return httpx.Response(302, headers={"Location": cdn})
        if str(request.url) == cdn:
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/sw.js"})
        return served(200, HOME_BODY)

    fetched = await fetcher(handler, fetch_redirect_hosts=("cdn.example.net",)).fetch()
    assert (fetched.source, calls) == (HOME, [SW, cdn, HOME])


def test_fetch_redirect_hosts_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"FETCH_REDIRECT_HOSTS": " CDN.example.net, *.example.org ,"})
    assert settings.fetch_redirect_hosts == ("cdn.example.net", "*.example.org")
    assert Settings.from_env({}).fetch_redirect_hosts == ()


@pytest.mark.parametrize("entry", ["https://cdn.example.net", "cdn.example.net/x", "u@cdn"])
def test_fetch_redirect_hosts_refuses_what_is_not_a_host(entry: str) -> None:
    with pytest.raises(ConfigError, match="FETCH_REDIRECT_HOSTS entry"):
        Settings.from_env({"FETCH_REDIRECT_HOSTS": entry})


@pytest.mark.parametrize("location", ["ftp://mirror.internal/sw.js", "file:///etc/passwd"])
async def test_a_redirect_to_another_scheme_is_refused_not_retried(location: str) -> None:
    """From a plain-http source too (a mirror), a redirect away from http(s) is the
    source's failure, asked once: httpx could not send it on any retry."""
    mirror = "http://mirror.internal/sw.js"
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"Location": location})

    with pytest.raises(FetchError) as caught:
        await fetcher(answer, version_urls=(mirror,)).fetch()
    assert not isinstance(caught.value, TransientFetchError)
    scheme = location.split(":")[0]
    assert (str(caught.value), calls) == (
        f"{mirror}: redirect refused: to a {scheme}: URL",
        [mirror],
    )
