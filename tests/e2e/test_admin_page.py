"""The admin page from the real web process, as the Procfile runs it (and, behind a
proxy, as Heroku's router reaches it): its files served, its session, and no secret in
its log."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.api.page_support import log_in, session_cookie
from tests.conftest import SECRET
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process

pytestmark = pytest.mark.slow


async def test_a_session_from_login_to_logout(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    launch("worker")
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        origin = {"Origin": web.base_url}
        assert (await log_in(client, "wrong")).status_code == 401
        assert (await log_in(client)).status_code == 303  # a secret that is not ASCII
        pinned = await client.post("/admin/pin", data={"version": "2.3000.7"}, headers=origin)
        assert pinned.status_code == 303
        page = await client.get("/admin/")
        assert '<span id="current-version" data-epoch="' in page.text
        assert "2.3000.7</span>" in page.text
        for path, kind in (("admin.js", "text/javascript"), ("admin.css", "text/css")):
            served = await client.get(f"/admin/static/{path}")
            assert served.status_code == 200
            assert served.headers["content-type"].startswith(kind)
        assert (await client.post("/admin/logout", headers=origin)).status_code == 303
    web.stop()
    lines = [line for line in web.output.splitlines() if line.strip()]
    assert any("/admin/login" in line for line in lines)  # the access log saw the logins
    for line in lines:
        assert SECRET not in json.dumps(json.loads(line), ensure_ascii=False)


async def test_behind_a_tls_proxy_the_cookie_is_secure(start_web: Callable[..., Process]) -> None:
    """uvicorn runs with --no-proxy-headers: the scheme comes from the trusted proxy's
    X-Forwarded-Proto, read by the app, and the page's origin is then https too."""
    web = start_web(TRUSTED_PROXY_HOPS="1")
    host = web.base_url.removeprefix("http://")
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        headers = {**proxied, "Origin": f"https://{host}"}
        response = await client.post("/admin/login", data={"secret": SECRET}, headers=headers)
        assert response.status_code == 303
        assert "secure" in [flag.strip().lower() for flag in session_cookie(response).split(";")]
        headers["Origin"] = web.base_url  # http: not the page's origin behind the proxy
        refused = await client.post("/admin/login", data={"secret": SECRET}, headers=headers)
        assert refused.status_code == 403
