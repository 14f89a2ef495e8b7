"""The stub upstream over loopback answers as WhatsApp Web: the gate, the bodies, the faults."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from devtools import upstream_pages as pages
from devtools.stub_upstream import MOBILE_PATH, StubUpstream
from worker.revision import parse_revision
from worker.sources import BROWSER_HEADERS

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain client: httpx's own headers, no redirects followed."""
    with httpx.Client(timeout=10) as plain:
        yield plain


def test_sw_js_without_browser_headers_is_a_400(
    upstream: StubUpstream, client: httpx.Client
) -> None:
    """httpx's default headers (no Sec-Fetch-Site, no Chrome) get sw.js's 400."""
    response = client.get(upstream.url("/sw.js"))
    assert response.status_code == 400
    assert b"client_revision" not in response.content


def test_home_page_without_browser_headers_is_the_sorry_page(
    upstream: StubUpstream, client: httpx.Client
) -> None:
    """Without Sec-Fetch-*: HTTP 400 and the ~6 KB "Sorry, something went wrong" page."""
    response = client.get(upstream.url("/"))
    assert response.status_code == 400
    assert len(response.content) == pages.SORRY_PAGE_SIZE
    assert b"Sorry, something went wrong" in response.content


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("User-Agent", None),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"),
        ("Sec-Fetch-Site", None),
        ("Sec-Fetch-Site", "same-origin"),
        ("Sec-Fetch-Mode", None),
        ("Sec-Fetch-Dest", None),
    ],
)
@pytest.mark.parametrize("path", ["/sw.js", "/"])
def test_each_header_the_gate_checks_is_needed(
    upstream: StubUpstream, client: httpx.Client, path: str, name: str, value: str | None
) -> None:
    """The worker's headers with one of them missing or not a desktop Chrome's: a 400."""
    headers = {k: v for k, v in BROWSER_HEADERS.items() if k != name}
    if value is not None:
        headers[name] = value
    assert client.get(upstream.url(path), headers=headers).status_code == 400


@pytest.mark.parametrize(("path", "size"), [("/sw.js", 3200), ("/", 580_000)])
def test_the_workers_headers_pass_the_gate(
    upstream: StubUpstream, client: httpx.Client, path: str, size: int
) -> None:
    """With BROWSER_HEADERS: 200 and the real-sized body with the revision."""
    response = client.get(upstream.url(path), headers=BROWSER_HEADERS)
    assert response.status_code == 200
    assert len(response.content) == size
    assert parse_revision(response.content).patch == upstream.behaviour.revision


@pytest.mark.parametrize("path", ["/sw.js", "/"])
def test_a_mobile_browser_is_sent_to_a_page_without_the_field(
    upstream: StubUpstream, client: httpx.Client, path: str
) -> None:
    """A mobile User-Agent, Sec-Fetch-* and all: a 302 to /mobile, which has no revision."""
    headers = {**BROWSER_HEADERS, "User-Agent": IPHONE}
    response = client.get(upstream.url(path), headers=headers)
    assert response.status_code == 302
    assert response.headers["location"] == MOBILE_PATH
    page = client.get(upstream.url(MOBILE_PATH), headers=headers)
    assert page.status_code == 200
    assert b"client_revision" not in page.content


def test_the_mobile_behaviour_sends_even_a_desktop_browser_to_the_mobile_page(
    upstream: StubUpstream, client: httpx.Client
) -> None:
    """`mobile=True`: the gate's mobile answer for the worker's own headers."""
    upstream.configure(mobile=True)
    response = client.get(upstream.url("/"), headers=BROWSER_HEADERS)
    assert (response.status_code, response.headers["location"]) == (302, MOBILE_PATH)


def test_the_control_paths_are_not_gated(upstream: StubUpstream, client: httpx.Client) -> None:
    """GET and PUT /_stub with httpx's plain headers: they answer, and count no fetch."""
    assert client.put(upstream.url("/_stub"), json={"revision": 1026131877}).status_code == 200
    state = client.get(upstream.url("/_stub")).json()
    assert (state["revision"], state["gate"], state["fetches"]) == (1026131877, True, 0)


def test_the_gate_can_be_turned_off(upstream: StubUpstream, client: httpx.Client) -> None:
    """`gate=False` answers any client, curl included."""
    upstream.configure(gate=False)
    assert client.get(upstream.url("/sw.js")).status_code == 200


def test_a_rollout_serves_its_revisions_to_consecutive_fetches(
    upstream: StubUpstream, client: httpx.Client
) -> None:
    """Back-to-back fetches get the sequence in order (the later one older, as seen), then
    its last; configuring a rollout again starts it over."""
    upstream.configure(rollout=[1045164762, 1045155773])

    def revision() -> int:
        return parse_revision(client.get(upstream.url("/"), headers=BROWSER_HEADERS).content).patch

    assert [revision() for _ in range(3)] == [1045164762, 1045155773, 1045155773]
    upstream.configure(rollout=[1045164762, 1045155773])
    assert revision() == 1045164762


def test_page_size_and_first_match_are_configurable(
    upstream: StubUpstream, client: httpx.Client
) -> None:
    """The largest page seen, its field as late as seen: served as configured."""
    upstream.configure(page_size=1_050_827, first_at=82_000, occurrences=2)
    body = client.get(upstream.url("/"), headers=BROWSER_HEADERS).content
    assert len(body) == 1_050_827
    assert body.index(b'"client_revision"') == 82_000
    assert body.count(b'"client_revision"') == 2


def test_a_page_that_cannot_be_laid_out_is_refused_at_configure(
    upstream: StubUpstream, client: httpx.Client
) -> None:
    """A first match past the page is a ValueError (a 400 over PUT /_stub), the behaviour kept."""
    with pytest.raises(ValueError, match="not inside"):
        upstream.configure(page_size=50_000, first_at=82_000)
    response = client.put(upstream.url("/_stub"), json={"first_at": 700_000})
    assert response.status_code == 400
    assert client.put(upstream.url("/_stub"), json={"no_such": 1}).status_code == 400
    assert upstream.behaviour.first_at == pages.FIRST_AT


def test_gzip_and_chunked_transfer(upstream: StubUpstream, client: httpx.Client) -> None:
    """Content-Encoding: gzip, Transfer-Encoding: chunked, no Content-Length: the same page."""
    upstream.configure(gzip=True, chunked=True)
    with client.stream("GET", upstream.url("/"), headers=BROWSER_HEADERS) as response:
        raw = b"".join(response.iter_raw())
        headers = response.headers
    assert headers["content-encoding"] == "gzip"
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert gzip.decompress(raw) == pages.home_page(upstream.behaviour.revision)


def test_a_body_that_claims_gzip_but_is_not(upstream: StubUpstream, client: httpx.Client) -> None:
    """`bogus_gzip`: the header says gzip, the bytes are the plain page; httpx cannot decode."""
    upstream.configure(bogus_gzip=True)
    with client.stream("GET", upstream.url("/sw.js"), headers=BROWSER_HEADERS) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert b"".join(response.iter_raw()) == pages.sw_js(upstream.behaviour.revision)
    with pytest.raises(httpx.DecodingError):
        client.get(upstream.url("/sw.js"), headers=BROWSER_HEADERS)


def test_a_redirect_to_the_file(upstream: StubUpstream, client: httpx.Client) -> None:
    """`redirect`: a 302 to /moved/sw.js, which serves sw.js."""
    upstream.configure(redirect=True)
    first = client.get(upstream.url("/sw.js"), headers=BROWSER_HEADERS)
    assert (first.status_code, first.headers["location"]) == (302, "/moved/sw.js")
    moved = client.get(upstream.url("/moved/sw.js"), headers=BROWSER_HEADERS)
    assert parse_revision(moved.content).patch == upstream.behaviour.revision


def test_a_redirect_to_another_host_name(upstream: StubUpstream, client: httpx.Client) -> None:
    """`redirect_host`: a 302 to the file on this stub under another host name, which
    serves it."""
    upstream.configure(redirect_host="localhost")
    first = client.get(upstream.url("/sw.js"), headers=BROWSER_HEADERS)
    moved = f"http://localhost:{upstream.port}/moved/sw.js"
    assert (first.status_code, first.headers["location"]) == (302, moved)
    answer = client.get(moved, headers=BROWSER_HEADERS)
    assert parse_revision(answer.content).patch == upstream.behaviour.revision


def test_a_redirect_loop(upstream: StubUpstream, client: httpx.Client) -> None:
    """`redirect_loop`: the page redirects to itself, for ever."""
    upstream.configure(redirect_loop=True)
    following = httpx.Client(follow_redirects=True, max_redirects=3)
    with following, pytest.raises(httpx.TooManyRedirects):
        following.get(upstream.url("/sw.js"), headers=BROWSER_HEADERS)
    assert upstream.paths_seen == ["/sw.js"] * 4


def test_a_status_with_retry_after(upstream: StubUpstream, client: httpx.Client) -> None:
    """`status` and `retry_after`: answered before the gate looks, to any client."""
    upstream.configure(status=429, retry_after="7")
    response = client.get(upstream.url("/sw.js"))
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
