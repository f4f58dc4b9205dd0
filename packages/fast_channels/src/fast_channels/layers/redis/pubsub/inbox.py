"""Process-local buffers of the pub/sub layer: one inbox per channel, routes by name.

Everything here runs on the event loop thread, without locks. Payloads stay
bytes until a ``receive()`` decodes them, so a group message fanned out to
many local channels is parsed once per reader that actually reads it, and
each reader gets its own independent dict.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ...buffer import Buffer


class Inbox(Buffer[bytes]):
    """Messages waiting for one local channel, and the receivers waiting for them.

    The deque is bounded: when it holds ``capacity`` messages, appending one
    drops the oldest (real-time data goes stale first), and ``put`` returns False.
    """

    __slots__ = ("release",)

    items: deque[bytes]  # always made here, never None

    def __init__(self, capacity: int) -> None:
        super().__init__(deque(maxlen=capacity))
        #: Timer that unsubscribes the channel after an abandoned receive().
        self.release: asyncio.TimerHandle | None = None


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
