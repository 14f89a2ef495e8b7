"""The admin page's actions: each needs the session and the page's own origin, and does
what the JSON API does; a refusal changes nothing in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from api.bodies import FORM_TYPE, MAX_BODY_BYTES
from devtools.embedded import RedisServer
from shared.keys import ServiceKeys
from shared.settings import Settings
from tests.api.page_support import ACTIONS, CROSS_SITE, assert_page_headers, log_in, stored
from tests.conftest import SECRET
from tests.support import AUTH, REFRESH, VERSION, app_client, running_worker, wait_until
from wa_version_client.contract import ManagerName, WAVersion
from wa_version_client.deployment import connect_server

SAME_ORIGIN = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_worker(settings), app_client(settings) as client:
        yield client


@pytest.fixture
async def session(api: httpx.AsyncClient) -> httpx.AsyncClient:
    """The client logged in, with a version stored (one refresh)."""
    assert (await log_in(api)).status_code == 303
    refreshed = await api.post("/admin/refresh", data={"force": "true"}, headers=SAME_ORIGIN)
    assert refreshed.status_code == 303
    await api.get("/admin/")  # the notice shown, and gone
    return api


async def post(api: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    """Post a form as a browser does: its type said even when it has no field (httpx
    leaves an empty form untyped, and the page's routes read only typed forms)."""
    return await api.post(path, data=data, headers={**SAME_ORIGIN, "Content-Type": FORM_TYPE})


@pytest.mark.parametrize("path", ACTIONS)
async def test_an_action_without_a_session_is_refused(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys, path: str
) -> None:
    before = await stored(redis, keys)
    response = await post(api, path, ACTIONS[path])
    assert response.status_code == 401
    assert '<form id="login"' in response.text
    assert_page_headers(response)
    assert await stored(redis, keys) == before


@pytest.mark.parametrize("path", ACTIONS)
@pytest.mark.parametrize("headers", CROSS_SITE, ids=lambda h: "-".join(h.values()))
async def test_a_cross_site_action_is_refused(
    session: httpx.AsyncClient,
    redis: Redis,
    keys: ServiceKeys,
    path: str,
    headers: dict[str, str],
) -> None:
    before = await stored(redis, keys)
    response = await session.post(path, data=ACTIONS[path], headers=headers)
    assert response.status_code == 403
    assert "cross-site request refused" in response.text
    assert_page_headers(response)
    assert await stored(redis, keys) == before


@pytest.mark.parametrize("headers", CROSS_SITE[:1] + CROSS_SITE[2:3])
async def test_a_cross_site_login_or_logout_is_refused(
    session: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for path in ("/admin/login", "/admin/logout"):
        response = await session.post(path, data={"secret": "x"}, headers=headers)
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
    assert 'id="current-version"' in (await session.get("/admin/")).text  # still logged in


async def test_pinning_applies_and_says_so(
    session: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    response = await post(session, "/admin/pin", {"version": " 2.3000.1000 "})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    assert await redis.hget(keys.version, "pinned") == "1"
    page = (await session.get("/admin/")).text
    assert '<p id="notice" role="status">Pinned 2.3000.1000</p>' in page
    assert '<dd id="pinned">pinned</dd>' in page
    assert "2.3000.1000</span>" in page
    again = (await session.get("/admin/")).text
    assert '<p id="notice" role="status"></p>' in again  # shown once


@pytest.mark.parametrize("version", ["", "2.3000", "3.3000.1", "2.3000.99999999999", "x" * 100])
async def test_a_bad_version_is_a_400_and_stores_nothing(
    session: httpx.AsyncClient, redis: Redis, keys: ServiceKeys, version: str
) -> None:
    before = await stored(redis, keys)
    response = await post(session, "/admin/pin", {"version": version})
    assert response.status_code == 400
    assert '<p id="notice" role="status">Not pinned: ' in response.text
    assert_page_headers(response)
    assert await stored(redis, keys) == before


async def test_unpinning_returns_to_upstream(
    session: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    await post(session, "/admin/pin", {"version": "2.3000.1000"})
    assert (await post(session, "/admin/unpin", {})).status_code == 303
    assert await redis.hget(keys.version, "pinned") in ("", "0", None)
    page = (await session.get("/admin/")).text
    assert '<p id="notice" role="status">Unpinned: 2.3000.' in page
    assert '<dd id="pinned">not pinned</dd>' in page


async def test_refresh_without_force_respects_the_interval(session: httpx.AsyncClient) -> None:
    """An unchecked box sends nothing: not forced, so the refresh of the fixture suffices."""
    assert (await post(session, "/admin/refresh", {})).status_code == 303
    page = (await session.get("/admin/")).text
    assert "Not refreshed (the last attempt was recent): 2.3000." in page
    assert (await post(session, "/admin/refresh", {"force": "true"})).status_code == 303
    assert '<p id="notice" role="status">Refreshed: 2.3000.' in (await session.get("/admin/")).text


@pytest.mark.parametrize("path", [*ACTIONS, "/admin/login"])
async def test_a_form_over_the_limit_is_a_413(
    session: httpx.AsyncClient, redis: Redis, keys: ServiceKeys, path: str
) -> None:
    before = await stored(redis, keys)
    response = await post(session, path, {"version": "x" * MAX_BODY_BYTES, "force": "true"})
    assert response.status_code == 413
    assert_page_headers(response)
    assert await stored(redis, keys) == before


async def test_the_fleet_section_needs_the_session(api: httpx.AsyncClient) -> None:
    assert (await api.get("/admin/fleet")).status_code == 401
    await log_in(api)
    response = await api.get("/admin/fleet")
    assert response.status_code == 200
    assert response.text.startswith('<section id="fleet"')
    assert '<ul id="fleet-by-version">' in response.text
    assert '<table id="fleet-managers">' in response.text
    assert_page_headers(response)


async def test_the_state_section_needs_the_session(api: httpx.AsyncClient) -> None:
    refused = await api.get("/admin/state")
    assert refused.status_code == 401
    assert 'id="current-version"' not in refused.text
    assert_page_headers(refused)
    await log_in(api)
    assert (await post(api, "/admin/refresh", {"force": "true"})).status_code == 303
    response = await api.get("/admin/state")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith('<section id="state"')
    assert '<span id="current-version" data-epoch="' in response.text
    assert '<dd id="pinned">not pinned</dd>' in response.text
    assert '<dd id="last-error">none</dd>' in response.text
    assert '<ol id="history">' in response.text
    assert '<li data-seq="1"><span class="version">2.3000.' in response.text
    assert "<form" not in response.text  # the forms are never replaced
    assert_page_headers(response)


async def test_the_state_section_shows_a_pin_of_the_version_held(
    session: httpx.AsyncClient,
) -> None:
    """No version event says so (the version stays): the section does."""
    held = (await session.get(VERSION, headers=AUTH)).json()["data"]["wa_web_version"]["string"]
    assert (await post(session, "/admin/pin", {"version": held})).status_code == 303
    section = (await session.get("/admin/state")).text
    assert f'data-seq="1">{held}</span>' in section
    assert '<dd id="pinned">pinned</dd>' in section


async def test_the_state_section_escapes_what_it_shows(
    session: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    """An upstream's failure message is shown as text, never as markup."""
    await redis.hset(keys.version, "last_error", '<img src=x onerror="alert(1)">')

    async def shown() -> bool:
        return "&lt;img src=x onerror=" in (await session.get("/admin/state")).text

    await wait_until(shown)  # a write by hand shows within the held copy's max age
    assert "<img" not in (await session.get("/admin/state")).text


async def test_the_dashboard_shows_state_history_and_fleet(session: httpx.AsyncClient) -> None:
    await post(session, "/admin/pin", {"version": "2.3000.1000"})
    page = (await session.get("/admin/")).text
    for marker in ('id="upstream-version">2.3000.', 'id="last-attempt"><time datetime="'):
        assert marker in page
    assert '<ol id="history">' in page
    assert page.index('<li data-seq="2">') < page.index('<li data-seq="1">')  # newest first
    assert '<span class="kind">pin</span>' in page
    assert '<script src="/admin/static/admin.js" defer></script>' in page
    assert "<script>" not in page  # no inline script: the CSP allows none


async def test_managers_behind_are_marked(
    session: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    """A manager named with an older version than the stored one shows as behind."""
    manager_id = f"page-test-{uuid.uuid4().hex[:8]}"
    old = ManagerName(manager_id, "python", WAVersion.parse("2.3000.1")).encode()
    row = f'<tr data-manager-id="{manager_id}" data-version="2.3000.1" class="behind">'
    other = connect_server(redis_server.url)
    try:
        await other.client_setname(old)

        async def shown() -> bool:
            return row in (await session.get("/admin/fleet")).text

        await wait_until(shown)
        page = (await session.get("/admin/")).text
    finally:
        await other.aclose()
    assert row in page
    assert '<li data-version="2.3000.1"><span class="version">2.3000.1</span>: ' in page


async def test_the_json_api_refresh_still_counts_its_outcomes(session: httpx.AsyncClient) -> None:
    """The page and the API share api/actions.py: the API's refresh answers as before."""
    response = await session.post(REFRESH, headers=AUTH)
    assert response.json()["data"]["refreshed"] is True


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", None])
@pytest.mark.parametrize("path", [*ACTIONS, "/admin/login"])
async def test_a_body_that_is_no_urlencoded_form_is_a_415(
    session: httpx.AsyncClient, redis: Redis, keys: ServiceKeys, path: str, content_type: str | None
) -> None:
    """Only what the page's forms send is read: a `text/plain` body that spells a form (what
    a foreign page can post without a preflight) does nothing, nor does one with no type."""
    before = await stored(redis, keys)
    headers = {**SAME_ORIGIN, **({"Content-Type": content_type} if content_type else {})}
    body = b"version=2.3000.1000&force=true&secret=" + SECRET.encode()
    response = await session.post(path, content=body, headers=headers)
    assert response.status_code == 415
    assert_page_headers(response)
    assert "set-cookie" not in response.headers
    assert await stored(redis, keys) == before


@pytest.mark.parametrize("path", ["/admin/no-such-page", "/admin/static/admin.css", "/healthz"])
async def test_every_answer_under_the_origin_is_nosniff(api: httpx.AsyncClient, path: str) -> None:
    """Not only the page's HTML: a JSON 404 under /admin/, a static file, the API's envelope."""
    response = await api.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
