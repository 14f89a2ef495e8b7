"""A hostile upstream against the real worker process: a decompression bomb or a 1 GB body
leaves the worker's peak memory (VmHWM) under 100 MB, is not retried, and the next source
answers; alone, the refresh answers with the source's failure.

The worker runs with the default FETCH_MAX_BYTES (4 MiB), as in production. Its peak is
read from /proc once the refresh has answered: a high-water mark, so no moment of the
fetch escapes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from devtools.hostile_upstream import HostileUpstream
from devtools.processes import memory_mb
from devtools.stub_upstream import StubUpstream
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH

pytestmark = pytest.mark.slow

PEAK_RSS_MB = 100
NEXT_REVISION = 1045818043
# Long enough that a loaded machine never turns a refusal into a timeout.
SETTINGS = {
    "FETCH_ATTEMPTS": "3",
    "FETCH_TIMEOUT": "5s",
    "REFRESH_DEADLINE": "8s",
    "REFRESH_WAIT": "12s",
}
# What each hostile path is refused with, after "<url>: ".
REFUSALS = {
    "/double-gzip": "stacked content codings refused: Content-Encoding gzip, gzip",
    "/gzip": "client_revision not found in the first 4194304 bytes of the response",
    "/plain": "client_revision not found in the first 4194304 bytes of the response",
}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    """1 GB bodies: zeros gzipped twice (1,827 bytes) and once (~1 MB), and plain."""
    upstream = HostileUpstream().start()
    yield upstream
    upstream.stop()


async def refresh(web: Process) -> httpx.Response:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        return await client.post(REFRESH, headers=AUTH)


@pytest.mark.parametrize("path", list(REFUSALS), ids=lambda p: p.strip("/"))
async def test_a_hostile_body_leaves_the_worker_small_and_the_next_source_answers(
    path: str,
    hostile: HostileUpstream,
    upstream: StubUpstream,
    launch: Launcher,
    start_web: Callable[..., Process],
) -> None:
    upstream.configure(revision=NEXT_REVISION)
    following = upstream.url("/sw.js")
    worker = launch("worker", **SETTINGS, WA_VERSION_URL=f"{hostile.url(path)},{following}")
    web = start_web(**SETTINGS)
    asked_before = hostile.fetches[path]
    response = await refresh(web)
    assert memory_mb(worker, "VmHWM") < PEAK_RSS_MB
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["source"], data["wa_web_version"]["string"]) == (
        following,
        f"2.3000.{NEXT_REVISION}",
    )
    assert hostile.fetches[path] - asked_before == 1  # refused, not retried


async def test_the_double_gzip_bomb_alone_is_the_refreshs_failure(
    hostile: HostileUpstream, launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """The bomb as the only source: a 500 naming it and the refusal; the worker stays small."""
    source = hostile.url("/double-gzip")
    worker = launch("worker", **SETTINGS, WA_VERSION_URL=source)
    web = start_web(**SETTINGS)
    response = await refresh(web)
    assert memory_mb(worker, "VmHWM") < PEAK_RSS_MB
    assert response.status_code == 500, response.text
    assert response.json()["error"] == f"{source}: {REFUSALS['/double-gzip']}"
