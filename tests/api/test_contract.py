"""The HTTP contract of the seed API, exactly, on a real Redis with a worker and a stub upstream."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from devtools.embedded import free_port
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from shared.settings import Settings
from tests.conftest import SettingsFactory
from tests.support import (
    AUTH,
    REFRESH,
    VERSION,
    app_client,
    assert_failure,
    running_worker,
    wait_until,
)
from wa_version_client.contract import VersionState

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_worker(settings), app_client(settings) as client:
        yield client


@pytest.mark.server_sensitive
async def test_refresh_answers_the_seed_envelope(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    """A refresh fetches the stub's revision and answers exactly the seed's 200 shape."""
    upstream.configure(revision=1012345678)
    response = await api.post(REFRESH, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "code", "message", "data"}
    assert (body["status"], body["code"]) == (True, 200)
    assert body["message"] == "WhatsApp Web version refreshed successfully"
    data = body["data"]
    assert data["refreshed"] is True
    assert data["wa_web_version"] == {"array": [2, 3000, 1012345678], "string": "2.3000.1012345678"}
    assert RFC3339_Z.match(data["last_refreshed"])
    assert data["last_error"] == ""
    assert data["source"] == upstream.url("/sw.js")
    assert upstream.fetches == 1


async def test_get_version_returns_the_stored_state(api: httpx.AsyncClient) -> None:
    """GET shows what the last refresh stored, in the same data shape."""
    refreshed = (await api.post(REFRESH, headers=AUTH)).json()["data"]
    response = await api.get(VERSION, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "WhatsApp Web version retrieved successfully"
    assert body["data"]["wa_web_version"] == refreshed["wa_web_version"]
    assert body["data"]["last_refreshed"] == refreshed["last_refreshed"]
    assert body["data"]["seq"] == 1


async def test_get_before_any_refresh_shows_nulls(api: httpx.AsyncClient) -> None:
    """Before any attempt there is no version and last_refreshed is null."""
    data = (await api.get(VERSION, headers=AUTH)).json()["data"]
    assert data["wa_web_version"] is None
    assert data["last_refreshed"] is None
    assert data["last_error"] == ""


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Admin-Secret": ""}, {"X-Admin-Secret": "wrong"}, {"X-Admin-Secret": "x" * 8000}],
    ids=["missing", "empty", "wrong", "very-long"],
)
async def test_bad_secret_is_401_and_never_reaches_upstream(
    api: httpx.AsyncClient, upstream: StubUpstream, method: str, headers: dict[str, str]
) -> None:
    """Without the right X-Admin-Secret: the exact 401 envelope, and no fetch."""
    path = REFRESH if method == "POST" else VERSION
    response = await api.request(method, path, headers=headers)
    assert_failure(response, 401, "Unauthorized", "Invalid or missing authentication")
    assert upstream.fetches == 0


async def test_unauthorised_bad_force_is_still_401(api: httpx.AsyncClient) -> None:
    """Authentication is checked first, so an outsider learns nothing about the parameters."""
    response = await api.post(REFRESH, params={"force": "maybe"})
    assert response.status_code == 401


@pytest.mark.parametrize("value", ["maybe", "", "2", "truee", "ü"])
async def test_bad_force_is_400(api: httpx.AsyncClient, upstream: StubUpstream, value: str) -> None:
    """force accepts only boolean words; anything else is the exact 400 envelope."""
    response = await api.post(REFRESH, params={"force": value}, headers=AUTH)
    assert_failure(
        response,
        400,
        "Bad request",
        f"force must be true or false (also 1/0, yes/no, on/off), got {value!r}",
    )
    assert upstream.fetches == 0


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "On"])
async def test_force_true_words_fetch_even_when_recent(
    api: httpx.AsyncClient, upstream: StubUpstream, value: str
) -> None:
    """Every spelling of true forces a fetch inside the min interval."""
    await api.post(REFRESH, headers=AUTH)
    response = await api.post(REFRESH, params={"force": value}, headers=AUTH)
    assert response.json()["data"]["refreshed"] is True
    assert upstream.fetches == 2


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "OFF"])
async def test_force_false_inside_min_interval_does_not_fetch(
    api: httpx.AsyncClient, upstream: StubUpstream, value: str
) -> None:
    """force=false within REFRESH_MIN_INTERVAL answers the stored state with refreshed=false."""
    first = (await api.post(REFRESH, headers=AUTH)).json()["data"]
    response = await api.post(REFRESH, params={"force": value}, headers=AUTH)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["refreshed"] is False
    assert data["wa_web_version"] == first["wa_web_version"]
    assert upstream.fetches == 1


async def test_force_false_fetches_when_nothing_was_fetched_yet(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    response = await api.post(REFRESH, params={"force": "false"}, headers=AUTH)
    assert response.json()["data"]["refreshed"] is True
    assert upstream.fetches == 1


async def test_min_interval_zero_disables_the_throttle(
    make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    settings = make_settings(refresh_min_interval=0)
    async with running_worker(settings), app_client(settings) as api:
        await api.post(REFRESH, headers=AUTH)
        response = await api.post(REFRESH, params={"force": "false"}, headers=AUTH)
    assert response.json()["data"]["refreshed"] is True
    assert upstream.fetches == 2


@pytest.mark.server_sensitive
async def test_upstream_failure_is_500_and_keeps_the_version(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    """After retries fail: a 500 envelope saying what failed; the stored version stays."""
    await api.post(REFRESH, headers=AUTH)
    upstream.configure(status=404, revision=99)
    response = await api.post(REFRESH, headers=AUTH)
    assert_failure(
        response,
        500,
        "Failed to refresh WhatsApp Web version",
        f"{upstream.url('/sw.js')}: upstream answered HTTP 404",
    )
    data = (await api.get(VERSION, headers=AUTH)).json()["data"]
    assert data["wa_web_version"]["string"] == "2.3000.1026131876"
    assert data["last_error"] == f"{upstream.url('/sw.js')}: upstream answered HTTP 404"


async def test_failed_attempt_counts_for_the_min_interval(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    """A failure is an attempt: force=false right after it does not fetch again."""
    upstream.configure(without_revision=True)
    assert (await api.post(REFRESH, headers=AUTH)).status_code == 500
    response = await api.post(REFRESH, params={"force": "false"}, headers=AUTH)
    data = response.json()["data"]
    assert data["refreshed"] is False
    assert data["last_error"].endswith("client_revision not found in the response")
    assert upstream.fetches == 1


async def test_unknown_path_is_404_envelope(api: httpx.AsyncClient) -> None:
    response = await api.get("/nope", headers=AUTH)
    assert_failure(response, 404, "Not found", "no such endpoint")


async def test_wrong_method_is_405_envelope(api: httpx.AsyncClient) -> None:
    response = await api.get(REFRESH, headers=AUTH)
    assert_failure(response, 405, "Method not allowed", "method not allowed on this endpoint")
    assert response.headers["allow"] == "POST"


@pytest.mark.server_sensitive
async def test_no_worker_is_504_envelope(make_settings: SettingsFactory) -> None:
    """With no worker to answer, the caller gets a 504 at the wait deadline, not a hang."""
    settings = make_settings(refresh_wait=0.5, refresh_deadline=0.2, job_claim_idle=1.0)
    async with app_client(settings) as api:
        response = await api.post(REFRESH, headers=AUTH)
    assert_failure(response, 504, "Gateway timeout", "no worker answered the refresh within 0.5s")


async def test_redis_unreachable_is_503_envelope(make_settings: SettingsFactory) -> None:
    """A Redis that does not answer gives a 503 envelope, not a traceback."""
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(settings) as api:
        for response in (
            await api.post(REFRESH, headers=AUTH),
            await api.get(VERSION, headers=AUTH),
        ):
            assert_failure(
                response,
                503,
                "Service unavailable",
                "the version store is unreachable; try again shortly",
            )


async def test_unexpected_failure_is_500_without_internals(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a handler answers a bare 500 envelope: no traceback, no details, and the
    request id still comes back, so the log line can be found."""

    def broken(self: VersionState) -> dict[str, object]:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(VersionState, "to_json", broken)
    response = await api.get(VERSION, headers={**AUTH, b"X-Request-ID": b"find-me-42"})
    assert_failure(
        response, 500, "Internal server error", "an unexpected error occurred; it has been logged"
    )
    assert "internal detail" not in response.text
    assert response.headers["x-request-id"] == "find-me-42"


async def test_a_corrupt_stored_state_shows_what_decodes(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    """Garbage in the hash (a hand-typed HSET) is no 500: the fields that decode are
    shown, the malformed ones at their defaults, and the ordering reset (seq 0). Not
    announced, it shows once the web's copy of the state is a second old."""
    await redis.hset(keys.version, mapping={"string": "not-a-version", "seq": "1", "source": "x"})
    responses = []

    async def read_again() -> bool:
        responses.append(await api.get(VERSION, headers=AUTH))
        return responses[-1].status_code != 200 or responses[-1].json()["data"]["source"] != ""

    await wait_until(read_again, within=5)
    response = responses[-1]
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["wa_web_version"], data["seq"], data["source"]) == (None, 0, "x")
