"""The admin page's login: the session cookie, the brake on guessing, logout, expiry."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import itsdangerous
import pytest

from api.page_auth import SESSION_COOKIE
from shared.settings import Settings
from tests.api.page_support import LOGIN, assert_page_headers, log_in, session_cookie
from tests.conftest import SECRET, SettingsFactory
from tests.support import VERSION, app_client, running_worker

LIMIT = 3


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_worker(settings), app_client(settings) as client:
        yield client


def from_address(address: str, **headers: str) -> dict[str, str]:
    """Headers of a request from `address`, as one trusted proxy hands it on."""
    return {"X-Forwarded-For": address, **headers}


async def test_without_a_session_the_page_is_a_login_form(api: httpx.AsyncClient) -> None:
    response = await api.get("/admin/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form id="login" method="post" action="/admin/login">' in response.text
    assert 'type="password" id="secret" name="secret"' in response.text
    assert_page_headers(response)


async def test_the_right_secret_sets_a_strict_http_only_twelve_hour_cookie(
    api: httpx.AsyncClient,
) -> None:
    response = await log_in(api)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    assert_page_headers(response)
    flags = [part.strip().lower() for part in session_cookie(response).split(";")]
    assert {"httponly", "samesite=strict", "max-age=43200", "path=/admin"} <= set(flags)
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    dashboard = await api.get("/admin/")
    assert 'id="current-version"' in dashboard.text


async def test_the_cookie_holds_when_not_what(api: httpx.AsyncClient, settings: Settings) -> None:
    """Signed, not encrypted: its content is readable, so it must hold no secret."""
    response = await log_in(api)
    value = session_cookie(response).split(";")[0].partition("=")[2]
    payload = value.split(".")[0]
    content = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(content) == {"since"}
    assert abs(content["since"] - time.time()) < 60
    assert SECRET not in value
    assert settings.session_key() not in value


async def test_the_cookie_is_secure_over_https(settings: Settings) -> None:
    async with app_client(settings, base_url="https://testserver") as api:
        response = await log_in(api)
    assert "secure" in [part.strip().lower() for part in session_cookie(response).split(";")]


async def test_behind_a_trusted_proxy_its_scheme_decides(make_settings: SettingsFactory) -> None:
    """X-Forwarded-Proto is believed only with TRUSTED_PROXY_HOPS: the proxy wrote it."""
    for hops, secure in ((1, True), (0, False)):
        async with app_client(make_settings(trusted_proxy_hops=hops)) as api:
            origin = "https://testserver" if secure else "http://testserver"
            headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"}
            headers["Origin"] = origin
            response = await api.post(LOGIN, data={"secret": SECRET}, headers=headers)
        flags = [part.strip().lower() for part in session_cookie(response).split(";")]
        assert ("secure" in flags) is secure, hops


async def test_a_wrong_secret_sets_no_cookie(api: httpx.AsyncClient) -> None:
    response = await log_in(api, "wrong")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert '<p id="login-error" role="alert">Wrong secret</p>' in response.text
    assert_page_headers(response)
    assert 'id="current-version"' not in (await api.get("/admin/")).text


async def test_logout_clears_the_session(api: httpx.AsyncClient) -> None:
    await log_in(api)
    response = await api.post("/admin/logout", headers={"Origin": "http://testserver"})
    assert response.status_code == 303
    cleared = session_cookie(response)
    assert cleared.startswith(f"{SESSION_COOKIE}=null;")
    assert "expires=Thu, 01 Jan 1970 00:00:00 GMT" in cleared
    assert '<form id="login"' in (await api.get("/admin/")).text


async def test_a_session_lasts_twelve_hours_from_the_login(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    """Counted from `since`: a cookie re-signed later (a new notice) does not extend it."""
    signer = itsdangerous.TimestampSigner(settings.session_key())

    async def page_since(since: float) -> str:
        payload = base64.b64encode(json.dumps({"since": int(since)}).encode())
        api.cookies.set(SESSION_COOKIE, signer.sign(payload).decode())
        return (await api.get("/admin/")).text

    assert 'id="current-version"' in await page_since(time.time() - 12 * 3600 + 60)
    assert '<form id="login"' in await page_since(time.time() - 12 * 3600 - 1)


@pytest.fixture
async def guarded(make_settings: SettingsFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(auth_failure_limit=LIMIT, trusted_proxy_hops=1)
    async with app_client(settings) as api:
        yield api


async def wrong_logins(api: httpx.AsyncClient, address: str, count: int) -> list[int]:
    headers = from_address(address, Origin="http://testserver")
    codes = []
    for _ in range(count):
        response = await api.post(LOGIN, data={"secret": "guess"}, headers=headers)
        codes.append(response.status_code)
    return codes


async def wrong_headers(api: httpx.AsyncClient, address: str, count: int) -> list[int]:
    headers = from_address(address, **{"X-Admin-Secret": "guess"})
    return [(await api.get(VERSION, headers=headers)).status_code for _ in range(count)]


async def test_failed_logins_brake_the_header_secret(guarded: httpx.AsyncClient) -> None:
    assert await wrong_logins(guarded, "192.0.2.1", LIMIT) == [401] * LIMIT
    assert await wrong_headers(guarded, "192.0.2.1", 1) == [429]
    assert await wrong_headers(guarded, "192.0.2.2", 1) == [401]  # another address


async def test_failed_header_secrets_brake_the_login(guarded: httpx.AsyncClient) -> None:
    assert await wrong_headers(guarded, "192.0.2.3", LIMIT) == [401] * LIMIT
    assert await wrong_logins(guarded, "192.0.2.3", 1) == [429]
    headers = from_address("192.0.2.3", Origin="http://testserver")
    braked = await guarded.post(LOGIN, data={"secret": SECRET}, headers=headers)
    assert braked.status_code == 429  # even the right secret, while braked
    assert int(braked.headers["retry-after"]) >= 1
    assert "set-cookie" not in braked.headers
    assert 'id="login-error" role="alert">Too many failed attempts' in braked.text
    assert_page_headers(braked)
