"""A local, cancel-safe buffer between a background Redis reader and ``receive()``.

A reader task pops entries from Redis and ``put``s them here; ``receive()``
awaits ``get``. Because the Redis call runs in the reader's task, cancelling
a ``receive()`` never cancels a pop in flight: an entry handed to a receiver
that was cancelled meanwhile goes to the next waiting receiver, or back to the
front of the buffer.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

#: (deadline in ms since the epoch, serialized message)
Item = tuple[int, bytes]


class Mailbox:
    """Messages for one channel that reached this process, and who waits for them."""

    __slots__ = ("items", "last_active", "waiters")

    def __init__(self) -> None:
        self.items: deque[Item] = deque()
        self.waiters: deque[asyncio.Future[Item]] = deque()
        self.last_active = time.monotonic()

    @property
    def has_waiters(self) -> bool:
        return any(not fut.done() for fut in self.waiters)

    def put(self, item: Item) -> None:
        """Hand ``item`` to the oldest waiting receiver, or keep it in order."""
        if not self._hand_over(item):
            self.items.append(item)

    def _hand_over(self, item: Item) -> bool:
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(item)
                return True
        return False

    def fail(self, exc: BaseException) -> None:
        """Make every waiting receiver raise ``exc`` (the reader cannot continue)."""
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_exception(exc)

    def drop_expired(self, now: int) -> int:
        """Forget buffered messages past their deadline; return how many."""
        dropped = 0
        while self.items and self.items[0][0] < now:
            self.items.popleft()
            dropped += 1
        return dropped

    async def get(self) -> Item:
        """The next item; if cancelled, an item already handed over is kept."""
        self.last_active = time.monotonic()
        if self.items:
            return self.items.popleft()
        fut: asyncio.Future[Item] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                # Another receiver may be waiting: it must not wait while this
                # item sits in the buffer.
                item = fut.result()
                if not self._hand_over(item):
                    self.items.appendleft(item)
            else:
                fut.cancel()
            raise
        finally:
            self.last_active = time.monotonic()


class FlushCutoff:
    """Drops messages sent before the last ``flush()`` that were already in flight."""

    def __init__(self, expiry_ms: int) -> None:
        self.expiry_ms = expiry_ms
        self.at = 0

    def flushed(self, deadline: int) -> bool:
        return deadline - self.expiry_ms < self.at
