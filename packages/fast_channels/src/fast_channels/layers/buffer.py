"""A cancel-safe buffer between a producer and the ``receive()`` calls awaiting it.

The in-memory layer's channels, the Redis queue layer's mailboxes and the
pub/sub layer's inboxes all use it. A producer (a ``send()``, a background
reader task) calls :meth:`Buffer.put`; receivers await :meth:`Buffer.get`, or
:meth:`Buffer.park` and :meth:`Buffer.abandon` on a hot path that wants no extra
coroutine frame.

Why it is cancel-safe: ``put`` hands an item straight to the oldest live
waiter by resolving its future, and the item is then the waiter's alone. If
that waiter is cancelled before it runs, its ``await`` raises
``CancelledError`` although its future holds the item; :meth:`Buffer.abandon`
sees that and gives the item to the next live waiter, or back to the *front*
of the buffer, so no item is lost and order is kept. The producer never runs
in the receiver's task, so cancelling a receiver never cancels a producer.

Everything runs on one event loop thread, without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Buffer(Generic[T]):
    """Items nobody has taken yet, and the receivers waiting for one.

    Invariant: while ``waiters`` holds a live future, ``items`` is empty.
    ``items`` may be ``None`` until an item first has to wait (pass no deque):
    an empty deque costs ~600 bytes, which adds up over 10,000 idle channels.
    ``waiters`` is a list for the same reason; it rarely holds more than one.
    """

    __slots__ = ("items", "waiters")

    def __init__(self, items: deque[T] | None = None) -> None:
        self.items = items
        self.waiters: list[asyncio.Future[T]] = []

    @property
    def has_waiters(self) -> bool:
        return any(not waiter.done() for waiter in self.waiters)

    def hand_over(self, item: T) -> bool:
        """Give ``item`` to the oldest live waiter; False if there is none."""
        waiters = self.waiters
        while waiters:
            waiter = waiters.pop(0)
            if waiter.done():
                continue
            try:
                waiter.set_result(item)
            except RuntimeError:  # its event loop is closed: that receiver is gone
                continue
            return True
        return False

    def put(self, item: T) -> bool:
        """Hand ``item`` to the oldest waiter, else keep it at the back.

        Returns False when a bounded buffer (a deque with ``maxlen``) was full
        and dropped its oldest item to make room.
        """
        return self.hand_over(item) or self.keep(item)

    def keep(self, item: T) -> bool:
        """Buffer ``item`` at the back, with no waiter checked; see :meth:`put`."""
        items = self.items
        if items is None:
            items = self.items = deque()
        full = len(items) == items.maxlen
        items.append(item)
        return not full

    def requeue(self, item: T) -> None:
        """Hand an already accepted ``item`` to the oldest waiter, else put it in front."""
        if not self.hand_over(item):
            items = self.items
            if items is None:
                items = self.items = deque()
            items.appendleft(item)

    def fail(self, exc: BaseException) -> None:
        """Make every waiting receiver raise ``exc`` (the producer cannot continue)."""
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc)

    def park(self) -> asyncio.Future[T]:
        """A new waiter's future, queued behind the others; await it, then
        call :meth:`abandon` if that await is cancelled."""
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def abandon(self, waiter: asyncio.Future[T]) -> None:
        """Forget a cancelled ``waiter``; an item already handed to it is requeued."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            # Woken with an item, then cancelled before running: another receiver
            # may be waiting, and must not wait while this item sits in the buffer.
            self.requeue(waiter.result())
        else:
            waiter.cancel()
            with contextlib.suppress(ValueError):
                self.waiters.remove(waiter)

    async def get(self) -> T:
        """The next item; if cancelled, an item already handed over is kept."""
        items = self.items
        if items:
            return items.popleft()
        waiter = self.park()
        try:
            return await waiter
        except asyncio.CancelledError:
            self.abandon(waiter)
            raise
