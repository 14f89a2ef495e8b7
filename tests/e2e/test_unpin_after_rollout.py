"""An unpin after a rollout, through the real web and worker processes and the stub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devtools.stub_upstream import StubUpstream
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, VERSION

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

NEWER, OLDER = 1012345682, 1012340682  # a rollout served the newer one, then the older
PINNED = "2.3000.1999999999"


def held(data: dict[str, Any]) -> str:
    version: str = data["wa_web_version"]["string"]
    return version


async def test_an_unpin_after_a_rollout_returns_to_the_newer_build(
    launch: Launcher, start_web: Callable[..., Process], upstream: StubUpstream
) -> None:
    """Upstream served ...682, then ...0682 (a rollout: the service kept ...682); pin a
    higher version, unpin: the service holds ...682 again, not the older ...0682 upstream
    said last; a fetch after the unpin, still of ...0682, keeps it."""
    launch("worker")
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, headers=AUTH, timeout=30) as api:
        upstream.configure(revision=NEWER)
        assert held((await api.post(REFRESH)).json()["data"]) == f"2.3000.{NEWER}"
        upstream.configure(revision=OLDER)
        kept = (await api.post(REFRESH)).json()["data"]
        assert (held(kept), kept["upstream_version"]["string"]) == (
            f"2.3000.{NEWER}",
            f"2.3000.{OLDER}",
        )
        pinned = await api.put(VERSION, json={"version": PINNED})
        assert held(pinned.json()["data"]) == PINNED
        unpinned = (await api.delete("/admin/whatsapp/version/pin")).json()["data"]
        assert (held(unpinned), unpinned["pinned"]) == (f"2.3000.{NEWER}", False)
        # A fetch after the unpin, upstream still serving the older build, keeps it.
        after = (await api.post(REFRESH)).json()["data"]
    assert (held(after), after["pinned"]) == (f"2.3000.{NEWER}", False)
    assert after["upstream_version"]["string"] == f"2.3000.{OLDER}"
