"""Redis over TLS with a password, end to end: web, worker, watcher and the subscriber library.

The server presents a self-signed certificate, as Heroku's Key-Value Store does. Each way
a user can say how to trust it works; verifying without trusting it fails at once with a
503 and a log line that says the certificate failed; the password never reaches a log.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from shared.settings import Settings
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process, strings
from tests.support import AUTH, REFRESH, wait_until
from tests.tls import ACL_PASSWORD, ACL_USER, PASSWORD, TlsRedis, tls_redis
from wa_version_client import VersionSubscriber

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

__all__ = ["tls_redis"]  # the fixture, imported for the tests of this module

# How a user tells the service about the TLS Redis, and how to trust its certificate.
WAYS: dict[str, Callable[[TlsRedis], dict[str, str]]] = {
    "REDIS_URL with REDIS_SSL_CERT_REQS=none, as Heroku advises": lambda tls: {
        "REDIS_URL": tls.url(),
        "REDIS_SSL_CERT_REQS": "none",
    },
    "ssl_cert_reqs=none in the URL, an ACL user": lambda tls: {
        "REDIS_URL": tls.url(user=ACL_USER, password=ACL_PASSWORD, query="ssl_cert_reqs=none"),
    },
    "REDIS_TLS_URL alone, verified against REDIS_SSL_CA_CERTS": lambda tls: {
        "REDIS_URL": "",
        "REDIS_TLS_URL": tls.url(),
        "REDIS_SSL_CA_CERTS": str(tls.certificate),
    },
}


@pytest.mark.parametrize("way", list(WAYS))
async def test_every_process_works_over_tls(
    way: str,
    tls_redis: TlsRedis,
    launch: Launcher,
    start_web: Callable[..., Process],
    prefix: str,
) -> None:
    """Web and worker answer a refresh over TLS; the watcher and an in-process
    VersionSubscriber, configured the same way, both hold the refreshed version."""
    env = WAYS[way](tls_redis)
    worker = launch("worker", **env)
    watcher = launch("watcher", **env)
    web = start_web(**env)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
    assert response.status_code == 200, response.text
    version = response.json()["data"]["wa_web_version"]["string"]
    await wait_until(lambda: strings(watcher) == [version], within=20)
    async with VersionSubscriber.from_env({**env, "REDIS_PREFIX": prefix}) as subscriber:
        assert subscriber.current is not None
        assert subscriber.current.string == version
    for process in (worker, watcher, web):
        assert PASSWORD not in process.output
        assert ACL_PASSWORD not in process.output


async def test_an_untrusted_certificate_is_a_prompt_503_that_says_why(
    tls_redis: TlsRedis, launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """Verification on (redis-py's default for rediss://) against the self-signed
    certificate: the API answers 503 at once, not a 504 after REFRESH_WAIT, and the web
    and worker logs say the certificate failed verification."""
    env = {"REDIS_URL": tls_redis.url()}
    worker = launch("worker", **env)
    web = start_web(**env)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        started = time.monotonic()
        response = await client.post(REFRESH, headers=AUTH)
        took = time.monotonic() - started
    assert response.status_code == 503
    assert took < Settings.from_env(env).refresh_wait
    await wait_until(lambda: "certificate verify failed" in worker.output)
    assert "certificate verify failed" in web.output
    assert PASSWORD not in web.output + worker.output


async def test_a_wrong_password_is_a_503_and_the_log_says_so(
    tls_redis: TlsRedis, launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """A wrong password: 503; the web's, the worker's and the watcher's logs carry Redis's
    refusal, never the password tried."""
    tried = "a-wrong-password-0000"
    env = {"REDIS_URL": tls_redis.url(password=tried), "REDIS_SSL_CERT_REQS": "none"}
    worker = launch("worker", **env)
    watcher = launch("watcher", **env)
    web = start_web(**env)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
    assert response.status_code == 503
    for process in (web, worker, watcher):
        await wait_until(lambda: "AuthenticationError" in process.output)  # noqa: B023 (awaited in this iteration)
        assert tried not in process.output
