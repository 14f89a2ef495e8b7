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

    If the caller is cancelled meanwhile (a parent stopping this one's clean-up), the
    tasks are still seen to their end first, then the cancellation goes on: otherwise a
    task that swallowed its cancellation would be left behind, running, with nobody to
    stop it (and a test's event loop would wait for it for ever at close).
    """
    running = [task for task in tasks if not task.done()]
    interrupted = False
    while running:
        for task in running:
            task.cancel()
        try:
            await asyncio.wait(running, timeout=RECANCEL_AFTER)
        except asyncio.CancelledError:
            interrupted = True
        running = [task for task in running if not task.done()]
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
    if interrupted:
        raise asyncio.CancelledError
