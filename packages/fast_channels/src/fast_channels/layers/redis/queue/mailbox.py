"""A local, cancel-safe buffer between a background Redis reader and ``receive()``.

A reader task pops entries from Redis and ``put``s them here; ``receive()``
awaits ``get``. Because the Redis call runs in the reader's task, cancelling
a ``receive()`` never cancels a pop in flight: an entry handed to a receiver
that was cancelled meanwhile goes to the next waiting receiver, or back to the
front of the buffer.
"""

from __future__ import annotations

import time
from collections import deque

from ...buffer import Buffer

#: (deadline in ms since the epoch, serialized message)
Item = tuple[int, bytes]


class Mailbox(Buffer[Item]):
    """Messages for one channel that reached this process, and who waits for them."""

    __slots__ = ("last_active",)

    items: deque[Item]  # always made here, never None

    def __init__(self) -> None:
        super().__init__(deque())
        self.last_active = time.monotonic()

    def drop_expired(self, now: int) -> int:
        """Forget buffered messages past their deadline; return how many."""
        dropped = 0
        while self.items and self.items[0][0] < now:
            self.items.popleft()
            dropped += 1
        return dropped

    async def get(self) -> Item:
        """The next item (see :meth:`Buffer.get`), noting when a receiver last waited."""
        self.last_active = time.monotonic()
        try:
            return await super().get()
        finally:
            self.last_active = time.monotonic()


class FlushCutoff:
    """Drops messages sent before the last ``flush()`` that were already in flight."""

    def __init__(self, expiry_ms: int) -> None:
        self.expiry_ms = expiry_ms
        self.at = 0

    def flushed(self, deadline: int) -> bool:
        return deadline - self.expiry_ms < self.at
