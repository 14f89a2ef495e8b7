"""Secret rotation, the brake on guessing, oversized headers, health and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from devtools.embedded import free_port
from shared.persistence import LOST_WARNING
from shared.settings import Settings
from tests.conftest import SettingsFactory
from tests.support import (
    AUTH,
    VERSION,
    app_client,
    assert_failure,
    running_api,
    running_worker,
    wait_until,
)

UNAUTHORIZED = (401, "Unauthorized", "Invalid or missing authentication")
TOO_MANY = (429, "Too many requests", "too many failed authentication attempts; try again later")


def client_at(address: str, secret: bytes | None = None) -> dict[bytes, bytes]:
    """Headers of a request from `address`, as one trusted proxy hands it on."""
    headers = {b"X-Forwarded-For": address.encode()}
    if secret is not None:
        headers[b"X-Admin-Secret"] = secret
    return headers


@pytest.fixture
def guarded_settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(
        admin_secret="current-secret",
        admin_secret_previous="previous-secret",
        auth_failure_limit=3,
        auth_failure_window=60,
        trusted_proxy_hops=1,
    )


@pytest.fixture
async def guarded(guarded_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a worker, driven in process."""
    async with running_worker(guarded_settings), app_client(guarded_settings) as api:
        yield api


@pytest.fixture
async def guarded_served(guarded_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The same, served by uvicorn: for what its HTTP parser hands the app (header sizes,
    bytes that are not UTF-8)."""
    async with running_worker(guarded_settings), running_api(guarded_settings) as api:
        yield api


async def test_current_and_previous_secrets_are_both_accepted(
    guarded: httpx.AsyncClient,
) -> None:
    """During a rotation clients holding either secret get in; nothing else does."""
    for secret in (b"current-secret", b"previous-secret"):
        response = await guarded.get(VERSION, headers={b"X-Admin-Secret": secret})
        assert response.status_code == 200
    assert_failure(await guarded.get(VERSION, headers={"X-Admin-Secret": "other"}), *UNAUTHORIZED)


@pytest.mark.server_sensitive
async def test_repeated_failures_block_the_client_even_with_the_right_secret(
    guarded: httpx.AsyncClient,
) -> None:
    """After 3 failures from one address: 429 with Retry-After, for any request from it."""
    guesser = "203.0.113.7"
    for _ in range(3):
        response = await guarded.get(VERSION, headers=client_at(guesser, b"guess"))
        assert_failure(response, *UNAUTHORIZED)
    blocked = await guarded.get(VERSION, headers=client_at(guesser, b"guess"))
    assert_failure(blocked, *TOO_MANY)
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    right = await guarded.get(VERSION, headers=client_at(guesser, b"current-secret"))
    assert_failure(right, *TOO_MANY)
    other = await guarded.get(VERSION, headers=client_at("198.51.100.2", b"current-secret"))
    assert other.status_code == 200


async def test_a_client_cannot_get_someone_else_blocked(guarded: httpx.AsyncClient) -> None:
    """An attacker writing the victim's address into X-Forwarded-For is counted by the
    address our proxy appended: the attacker is blocked, the victim is not."""
    forged = b"192.0.2.99, 198.51.100.7"  # the victim's address, then the proxy's entry
    for _ in range(4):
        await guarded.get(VERSION, headers={b"X-Forwarded-For": forged, b"X-Admin-Secret": b"x"})
    attacker = await guarded.get(VERSION, headers=client_at("198.51.100.7", b"current-secret"))
    assert_failure(attacker, *TOO_MANY)
    victim = await guarded.get(VERSION, headers=client_at("192.0.2.99", b"current-secret"))
    assert victim.status_code == 200


@pytest.mark.server_sensitive
async def test_the_block_ends_with_its_window(make_settings: SettingsFactory) -> None:
    settings = make_settings(auth_failure_limit=1, auth_failure_window=0.5, trusted_proxy_hops=1)
    async with app_client(settings) as api:
        for _ in range(2):
            await api.get(VERSION, headers=client_at("203.0.113.9", b"guess"))
        assert (await api.get(VERSION, headers=client_at("203.0.113.9"))).status_code == 429

        async def unblocked() -> bool:
            response = await api.get(VERSION, headers=client_at("203.0.113.9", b"x"))
            return response.status_code == 401

        await wait_until(unblocked, within=5)


@pytest.mark.server_sensitive
async def test_failures_are_counted_across_web_processes(make_settings: SettingsFactory) -> None:
    """The count lives in Redis: failures at one web process block at another."""
    settings = make_settings(auth_failure_limit=2, trusted_proxy_hops=1)
    async with app_client(settings) as first, app_client(settings) as second:
        for api in (first, second):
            await api.get(VERSION, headers=client_at("203.0.113.10", b"guess"))
        blocked = await second.get(VERSION, headers=client_at("203.0.113.10", b"guess"))
    assert blocked.status_code == 429


async def test_without_redis_failures_are_still_401(make_settings: SettingsFactory) -> None:
    """A limiter that cannot count fails open to the plain 401, never a 5xx."""
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(settings) as api:
        response = await api.get(VERSION, headers={"X-Admin-Secret": "guess"})
    assert_failure(response, *UNAUTHORIZED)


@pytest.mark.parametrize(
    "value",
    ["é€".encode(), b"\xff\xfe", b"x" * 10_000],
    ids=["utf-8", "invalid-utf-8", "10kB"],
)
async def test_odd_secret_headers_are_401_not_5xx(
    guarded_served: httpx.AsyncClient, value: bytes
) -> None:
    response = await guarded_served.get(VERSION, headers={b"X-Admin-Secret": value})
    assert_failure(response, *UNAUTHORIZED)


async def test_oversized_headers_are_431(guarded_served: httpx.AsyncClient) -> None:
    """Headers over 16 KiB in all are refused before any handler runs."""
    response = await guarded_served.get(VERSION, headers={**AUTH, b"X-Padding": b"a" * 20_000})
    assert response.status_code == 431
    assert response.json()["message"] == "Request header fields too large"
    assert response.json()["error"].endswith("at most 16384 are accepted")


async def test_healthz_needs_no_secret(guarded: httpx.AsyncClient) -> None:
    response = await guarded.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": True,
        "code": 200,
        "message": "OK",
        "data": {"alive": True},
    }


@pytest.mark.server_sensitive
async def test_readyz_is_ready_with_redis_and_a_worker(guarded: httpx.AsyncClient) -> None:
    async def ready() -> bool:
        return (await guarded.get("/readyz")).status_code == 200

    await wait_until(ready)
    data = (await guarded.get("/readyz")).json()["data"]
    # The session's server keeps nothing on disk: warned of once checked (test_persistence).
    assert (data["ready"], data["warnings"] in ([], [LOST_WARNING])) == (True, True)


async def test_readyz_without_a_worker_says_so(make_settings: SettingsFactory) -> None:
    async with app_client(make_settings()) as api:
        response = await api.get("/readyz")
    assert_failure(
        response, 503, "Service unavailable", "not ready: no worker heartbeat in the last 1s"
    )


async def test_readyz_without_redis_says_so(make_settings: SettingsFactory) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(settings) as api:
        response = await api.get("/readyz")
    assert_failure(response, 503, "Service unavailable", "not ready: Redis is unreachable")


@pytest.mark.server_sensitive
async def test_readyz_notices_the_last_worker_stopping(make_settings: SettingsFactory) -> None:
    """Every worker, reader or standby, beats; when none has for a lease's time: not ready."""
    settings = make_settings()
    async with app_client(settings) as api:

        async def status() -> int:
            return (await api.get("/readyz")).status_code

        async with running_worker(settings), running_worker(settings):
            await wait_until(lambda: _is(status, 200))
        await wait_until(lambda: _is(status, 503), within=10)


async def _is(status: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await status() == expected
