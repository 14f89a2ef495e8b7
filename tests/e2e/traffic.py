"""Refresh traffic against a running web process, every answer kept with its time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support import AUTH, REFRESH
from wa_version_client.tasks import cancel_and_wait


class Traffic:
    """Forced refreshes in a loop from two clients, every answer kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[tuple[float, int, Any]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Traffic:
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(2)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel_and_wait(*self._tasks)

    async def _loop(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            while True:
                response = await client.post(REFRESH, headers=AUTH)
                self.answers.append((time.monotonic(), response.status_code, response.json()))

    def statuses_since(self, moment: float) -> list[int]:
        return [status for at, status, _ in self.answers if at > moment]
