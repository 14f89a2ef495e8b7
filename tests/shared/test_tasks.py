"""cancel_and_wait: background tasks end even when a library swallows a cancellation."""

from __future__ import annotations

import asyncio

from wa_version_client.runtime import cancel_and_wait


async def test_a_task_that_swallows_one_cancellation_still_ends() -> None:
    """The first cancel is eaten (as redis-py can); the repeated one ends the task."""
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)  # let it reach its first sleep
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert swallowed.is_set()
    assert task.cancelled()


async def test_finished_and_failed_tasks_are_fine() -> None:
    """Done tasks are left as they are, and a failure is retrieved, not logged as lost."""

    async def fail() -> None:
        raise ValueError("boom")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fail())
    await asyncio.wait([done, failed])
    await cancel_and_wait(done, failed)
    assert isinstance(failed.exception(), ValueError)


async def test_a_parent_cancelled_during_clean_up_leaves_no_child_running() -> None:
    """A parent whose clean-up stops a child that swallows cancellations is itself
    cancelled, twice, mid clean-up: it ends only once the child has ended, so no task is
    left running with nobody to stop it."""
    child_started = asyncio.Event()

    async def stubborn_child() -> None:
        child_started.set()
        for _ in range(3):  # swallows two cancellations, as redis-py can
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue
        await asyncio.sleep(3600)

    async def parent() -> None:
        child = asyncio.create_task(stubborn_child())
        try:
            await asyncio.sleep(3600)
        finally:
            await cancel_and_wait(child)
            assert child.done()

    task = asyncio.create_task(parent())
    await child_started.wait()
    task.cancel()  # the parent starts its clean-up
    await asyncio.sleep(0.01)
    task.cancel()  # and is cancelled again during it
    await asyncio.wait_for(asyncio.wait([task]), 10)
    assert task.cancelled()
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []
