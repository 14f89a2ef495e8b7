"""Refresh traffic against a running web process, every answer kept with its time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import AUTH, REFRESH
from wa_version_client.runtime import cancel_and_wait


@dataclass(frozen=True, slots=True)
class Answer:
    """One refresh call: when it was answered (monotonic), how, and how long it took."""

    at: float
    status: int
    body: Any
    seconds: float


class Traffic:
    """Forced refreshes in a loop from two clients, every answer kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[Answer] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Traffic:
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(2)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel_and_wait(*self._tasks)

    async def _loop(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as client:
            while True:
                sent = time.monotonic()
                response = await client.post(REFRESH, headers=AUTH)
                now = time.monotonic()
                self.answers.append(Answer(now, response.status_code, response.json(), now - sent))

    def statuses_since(self, moment: float) -> list[int]:
        return [answer.status for answer in self.answers if answer.at > moment]

    def first_since(self, moment: float, status: int) -> Answer | None:
        return next((a for a in self.answers if a.at > moment and a.status == status), None)
