"""Logs of the real processes: JSON lines, request ids carried into the worker, no secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from shared.keys import ServiceKeys
from tests.conftest import SECRET
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, wait_until

pytestmark = pytest.mark.slow


def json_lines(process: Process) -> list[dict[str, Any]]:
    """Every line the process wrote, parsed: each must be one JSON object."""
    lines = [line for line in process.output.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


async def test_a_request_id_follows_a_refresh_into_the_worker(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    worker = launch("worker")
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers={**AUTH, b"X-Request-ID": b"req-42.a"})
        await client.post(REFRESH, headers={"X-Admin-Secret": "wrong"})
    assert response.headers["x-request-id"] == "req-42.a"
    await wait_until(lambda: any("req-42.a" in line for line in worker.output.splitlines()))
    web.stop()
    worker.stop()
    web_lines, worker_lines = json_lines(web), json_lines(worker)
    access = [line for line in web_lines if line.get("request_id") == "req-42.a"]
    assert access
    assert {"time", "level", "logger", "event"} <= set(access[0])
    assert access[0]["time"].endswith("Z")
    answered = [line for line in worker_lines if "req-42.a" in line.get("request_ids", [])]
    assert answered[0]["job_ids"]
    for line in web_lines + worker_lines:
        assert SECRET not in json.dumps(line, ensure_ascii=False)


@pytest.mark.parametrize("offered", [None, "has spaces", "x" * 200])
def test_a_missing_or_odd_request_id_is_replaced(
    start_web: Callable[..., Process], offered: str | None
) -> None:
    web = start_web()
    headers = {} if offered is None else {"X-Request-ID": offered}
    response = httpx.get(f"{web.base_url}/healthz", headers=headers)
    made = response.headers["x-request-id"]
    assert made != offered
    assert len(made) == 32


@pytest.mark.server_sensitive
async def test_a_first_start_logs_the_job_stream_set_up_as_info(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    """A worker's first start on a Redis without the job stream: one info line saying it
    set the stream up, nothing else at warning or above. The stream deleted later is a loss,
    and still a warning in Redis's words."""
    worker = launch("worker")
    await wait_until(lambda: "set up the job stream" in worker.output, within=30)
    started = json_lines(worker)
    said = [(line["level"], line["event"]) for line in started if "stream" in line["event"]]
    assert said == [
        ("info", "set up the job stream and its consumer group (a first start on this Redis)")
    ]
    # The suite's servers keep nothing on disk, which the persistence check rightly warns
    # of (tests/e2e/test_persistence.py); nothing else is above info.
    louder = [line for line in started if line["level"] not in ("debug", "info")]
    assert [line for line in louder if line["logger"] != "shared.persistence"] == []
    await redis.delete(keys.refresh_jobs)
    await wait_until(lambda: "the job stream or its group is gone (" in worker.output)
    lost = [line for line in json_lines(worker) if "is gone" in line["event"]]
    assert lost[0]["level"] == "warning"
