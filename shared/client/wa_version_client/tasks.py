"""Stopping background tasks for sure."""

from __future__ import annotations

import asyncio
from typing import Any

# Long enough for a task's own clean-up (closing a connection) to finish undisturbed.
RECANCEL_AFTER = 0.5


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and return once all have ended.

    A task still running after RECANCEL_AFTER seconds is cancelled again: redis-py can
    swallow a cancellation (seen inside its connect and disconnect timeouts on Python
    3.11), and a task that swallowed one would otherwise be awaited forever.
    """
    running = [task for task in tasks if not task.done()]
    while running:
        for task in running:
            task.cancel()
        await asyncio.wait(running, timeout=RECANCEL_AFTER)
        running = [task for task in running if not task.done()]
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
