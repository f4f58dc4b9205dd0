"""Small helpers every background task of the Redis layers shares: the clock, cancelling."""

from __future__ import annotations

import asyncio
import time


def now_ms() -> int:
    return int(time.time() * 1000)


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` and wait until it is done.

    Cancels again until it sticks: redis-py takes connections from the pool
    inside ``asyncio.timeout(0)``, which can swallow a cancellation that lands
    at that moment.
    """
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if task is not None and not task.cancelled():
        task.exception()  # mark retrieved: a failed background task must not break close()
