"""Waiting for a condition with a deadline: the one way tests and benchmarks wait."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], within: float = 10.0, every: float = 0.01
) -> None:
    """Poll `condition()` (plain or async) every `every` seconds until it is true; fail
    after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        outcome = condition()
        if await outcome if inspect.isawaitable(outcome) else outcome:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)
