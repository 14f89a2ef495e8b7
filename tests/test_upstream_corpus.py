"""The synthetic upstream corpus: each body has the shape the crawls saw and parses as the
worker parses it, whole and streamed through httpx (gzip undone by httpx, as upstream)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from devtools import upstream_pages as pages
from shared.errors import FetchError
from shared.settings import Settings
from tests.upstream_corpus import (
    FIRST_MATCH_AT,
    HOME_REVISION,
    HOME_SIZES,
    Case,
    home_pages,
    with_revision,
    without_revision,
)
from wa_version_client.contract import WAVersion
from worker.fetch import VersionFetcher
from worker.revision import parse_revision

URL = "https://web.whatsapp.com/"
FIELD = re.compile(rb'"client_revision":(\d+),')


async def fetch_streamed(case: Case) -> WAVersion:
    """`case` through VersionFetcher, sent in 8 KB chunks with its Content-Encoding."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(case.body), 8192):
            yield case.body[start : start + 8192]

    headers = {"Content-Encoding": "gzip"} if case.gzip else {}
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=chunks(), headers=headers)
    )
    settings = Settings(version_urls=(URL,), fetch_attempts=1)
    async with httpx.AsyncClient(transport=transport) as client:
        return (await VersionFetcher(settings, client).fetch()).version


@pytest.mark.parametrize("case", with_revision(), ids=str)
async def test_every_page_parses_to_its_revision(case: Case) -> None:
    """Whole or streamed in chunks, gzip'd or not: the revision the page was made with."""
    assert case.revision is not None
    expected = WAVersion.from_revision(case.revision)
    assert parse_revision(case.decoded()) == expected
    assert await fetch_streamed(case) == expected


@pytest.mark.parametrize("case", without_revision(), ids=str)
async def test_pages_without_the_field_give_client_revision_not_found(case: Case) -> None:
    """The 6 KB sorry page, the mobile page and pages missing the field: not found."""
    with pytest.raises(FetchError, match="client_revision not found in the response"):
        parse_revision(case.decoded())
    with pytest.raises(FetchError, match="client_revision not found in the response"):
        await fetch_streamed(case)


@pytest.mark.parametrize("case", home_pages(), ids=str)
def test_home_pages_have_the_crawled_shape(case: Case) -> None:
    """The field 2-3 times, unescaped, one value; the first where named (19 or 82 KB) and
    inside `["SiteData",[],{"server_revision":N,"client_revision":N,"push_phase":"C3",`."""
    body = case.body
    assert case.first_at in FIRST_MATCH_AT
    assert any(len(body) == size for size in HOME_SIZES)
    assert body.index(b'"client_revision"') == case.first_at
    assert [int(m) for m in FIELD.findall(body)] == [HOME_REVISION] * case.occurrences
    assert case.occurrences in (2, 3)
    assert b'\\"client_revision' not in body
    site_data = b'["SiteData",[],{"server_revision":%d,"client_revision":%d,"push_phase":"C3",'
    assert body.index(site_data % (HOME_REVISION, HOME_REVISION)) < case.first_at


def test_home_page_default_is_580_kb_with_three_fields() -> None:
    """The stub's default home page: ~580 KB (the mid-2026 size), 3 fields, the first at 41 KB."""
    body = pages.home_page(HOME_REVISION)
    assert len(body) == 580_000
    assert body.index(b'"client_revision"') == 41_000
    assert len(FIELD.findall(body)) == 3


def test_sw_js_has_the_escaped_shape() -> None:
    """~3.2 KB, one escaped field inside `JSON.parse(/*BTDS*/"…")`, ending with importScripts."""
    body = pages.sw_js(1026131876)
    assert len(body) == 3200
    assert body.count(b"client_revision") == 1
    assert body.startswith(b"/*")
    assert b'self.__swData=JSON.parse(/*BTDS*/"{\\"dynamic_data\\":{' in body
    escaped = rb"\"SiteData\":{\"server_revision\":1026131876,\"client_revision\":1026131876,"
    assert escaped in body
    assert re.search(rb'importScripts\("[^"]+"\);\n\Z', body)


def test_sorry_page_is_6_kb_and_says_sorry() -> None:
    """What the home page is without the Sec-Fetch-* headers."""
    body = pages.sorry_page()
    assert len(body) == 6000
    assert b"Sorry, something went wrong" in body
    assert b"client_revision" not in body


def test_a_page_that_cannot_hold_its_fields_is_refused() -> None:
    """first_at beyond the page, or fields overlapping, is a ValueError, not a wrong page."""
    with pytest.raises(ValueError, match="not inside a page of 50000 bytes"):
        pages.home_page(HOME_REVISION, size=50_000, first_at=82_000)
    with pytest.raises(ValueError, match="overlaps"):
        pages.home_page(HOME_REVISION, size=82_100, first_at=82_000, occurrences=3)
