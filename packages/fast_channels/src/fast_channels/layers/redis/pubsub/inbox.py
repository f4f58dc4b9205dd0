"""Process-local buffers of the pub/sub layer: one inbox per channel, routes by name.

Everything here runs on the event loop thread, without locks. Payloads stay
bytes until a ``receive()`` decodes them, so a group message fanned out to
many local channels is parsed once per reader that actually reads it, and
each reader gets its own independent dict.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Inbox:
    """Messages waiting for one local channel, and the receivers waiting for them.

    The deque is bounded: when it holds ``capacity`` messages, appending one
    drops the oldest (real-time data goes stale first). Invariant: while
    ``waiters`` holds a live future, ``messages`` is empty.
    """

    __slots__ = ("messages", "release", "waiters")

    def __init__(self, capacity: int) -> None:
        self.messages: deque[bytes] = deque(maxlen=capacity)
        self.waiters: deque[asyncio.Future[bytes]] = deque()
        #: Timer that unsubscribes the channel after an abandoned receive().
        self.release: asyncio.TimerHandle | None = None

    def put(self, data: bytes) -> bool:
        """Hand ``data`` to the oldest waiter, else buffer it.

        Returns False when the buffer was full and its oldest message was dropped.
        """
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(data)
                return True
        messages = self.messages
        full = len(messages) == messages.maxlen
        messages.append(data)
        return not full

    def fail_waiters(self, exc: BaseException) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)


class Route:
    """One Redis subscription and the local inboxes its messages go to.

    ``ready`` resolves once Redis confirmed the subscription, so a caller
    joining a subscription another task is still opening waits for it too.
    """

    __slots__ = ("inboxes", "ready", "shard")

    def __init__(self, shard: int, ready: asyncio.Future[None]) -> None:
        self.shard = shard
        self.ready = ready
        self.inboxes: list[Inbox] = []
