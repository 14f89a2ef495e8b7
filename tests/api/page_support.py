"""What the admin page's tests share: logging in, the page's headers, Redis as it stands."""

from __future__ import annotations

from typing import Any

import httpx
from redis.asyncio import Redis

from api.page_auth import SESSION_COOKIE
from api.page_render import CSP
from shared.keys import ServiceKeys
from tests.conftest import SECRET

LOGIN = "/admin/login"
# The forms' actions, with a body each would carry.
ACTIONS = {
    "/admin/refresh": {"force": "true"},
    "/admin/pin": {"version": "2.3000.1000"},
    "/admin/unpin": {},
}
CROSS_SITE = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
]


async def log_in(client: httpx.AsyncClient, secret: str = SECRET) -> httpx.Response:
    """Post the login form as the page does (same origin); the cookie lands in the jar."""
    origin = str(client.base_url).rstrip("/")
    headers = {"Origin": origin, "Sec-Fetch-Site": "same-origin"}
    return await client.post(LOGIN, data={"secret": secret}, headers=headers)


def session_cookie(response: httpx.Response) -> str:
    """The Set-Cookie header for the session; fails unless there is exactly one."""
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def assert_page_headers(response: httpx.Response) -> None:
    """The headers every answer of the page carries."""
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"


async def stored(redis: Redis, keys: ServiceKeys) -> tuple[Any, ...]:
    """What an action could change: the state, the history and the jobs asked for."""
    state = await redis.hgetall(keys.version)
    history = await redis.lrange(keys.history, 0, -1)
    jobs = await redis.xlen(keys.refresh_jobs) if await redis.exists(keys.refresh_jobs) else 0
    return state, history, jobs
