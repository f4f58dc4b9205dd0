"""Bounded, non-blocking outbound buffering for one WebSocket connection.

An ASGI server applies backpressure by making ``send`` wait until the client has
read enough (uvicorn does). A consumer that awaited that wait inside a handler
would stall its layer loop, so a broadcast handler calling ``send`` returns at
once: frames queue here and one short-lived writer task hands them to the
server in order. The queue is bounded by bytes; past the bound the client is
not keeping up, and the connection is closed with
:data:`~fast_channels.consumer.limits.SLOW_CLIENT` (3008).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType
from typing import Any, cast

from ..types import Message, Send
from .limits import SLOW_CLIENT

logger = logging.getLogger("fast_channels.consumer")

# How long a finished consumer waits for its last frames: a client that is gone
# or not reading must not keep the finished consumer's task around.
_DRAIN_SECONDS = 1.0


class Outbox:
    """An ASGI ``send`` for one connection that queues frames instead of waiting.

    ``websocket.send`` messages always go through the queue; anything else (the
    accept, a close) is sent straight away when nothing is queued, and after the
    queued frames otherwise, so order is kept. ``buffered`` counts the payload
    (characters of text frames, bytes of binary ones) queued or being sent. When a
    frame would take it past ``max_bytes``, the queue is dropped, ``on_overflow``
    is called with the size it would have reached, and the connection is closed
    with 3008; frames sent after a close are dropped.
    """

    __slots__ = (
        "_closer",
        "_closing",
        "_on_overflow",
        "_queue",
        "_send",
        "_writer",
        "buffered",
        "max_bytes",
        "overflowed",
        "peak",
    )

    def __init__(
        self, send: Send, max_bytes: int | None, on_overflow: Callable[[int], None]
    ) -> None:
        self._send = send
        self.max_bytes = max_bytes
        self._on_overflow = on_overflow
        # Frames waiting behind the one the writer is sending; made on the first wait,
        # since most connections never have one (an empty deque is 600 bytes).
        self._queue: deque[tuple[Message, int]] | None = None
        self.buffered = 0
        #: The largest ``buffered`` ever reached (a frame past the limit is not counted).
        self.peak = 0
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._closing = False
        #: True once the client was found too slow and the connection is being closed.
        self.overflowed = False

    async def send(self, message: Message) -> None:
        """Queue ``message`` (see the class docstring); never waits for the client."""
        if self._closing:
            return
        if message["type"] != "websocket.send":
            if message["type"] == "websocket.close":
                self._closing = True
            if self._writer is None:
                await self._send(message)
            else:
                self._waiting().append((message, 0))
            return
        payload = message.get("text")
        if payload is None:
            payload = message.get("bytes") or b""
        size = len(payload)
        buffered = self.buffered + size
        if self.max_bytes is not None and buffered > self.max_bytes:
            self._overflow(buffered)
            return
        self.buffered = buffered
        if buffered > self.peak:
            self.peak = buffered
        if self._writer is not None:
            self._waiting().append((message, size))
            return
        # Nothing ahead of this frame: start sending it right here. The server only
        # waits when the client's socket is full, so most sends finish in this first
        # step and need no task; a send that has to wait is finished by the writer.
        coro = _coroutine(self._send(message))
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            self.buffered -= size
            return
        except Exception as exc:
            self._drop_after(exc)
            return
        self._writer = asyncio.create_task(self._write(coro, waiting_on, size))

    def _waiting(self) -> deque[tuple[Message, int]]:
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        return queue

    async def _write(
        self, started: Coroutine[Any, Any, None], waiting_on: object, size: int
    ) -> None:
        send = self._send
        try:
            await _finish(started, waiting_on)
            self.buffered -= size
            queue = self._queue
            while queue:
                message, size = queue[0]
                await send(message)
                queue.popleft()
                self.buffered -= size
        except Exception as exc:
            self._drop_after(exc)
        finally:
            self._writer = None

    def _drop_after(self, exc: Exception) -> None:
        if isinstance(exc, OSError):  # the client went away; its disconnect event follows
            logger.debug("Outbound frames dropped: %s", exc)
        else:
            logger.error("Sending to the client failed; outbound frames dropped", exc_info=exc)
        self._drop()

    def _drop(self) -> None:
        self._closing = True
        if self._queue is not None:
            self._queue.clear()
        self.buffered = 0

    def _overflow(self, size: int) -> None:
        self.overflowed = True
        self._drop()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()  # it is stuck waiting for the client to read
        self._on_overflow(size)
        self._closer = asyncio.create_task(self._close_slow(writer))

    async def _close_slow(self, writer: asyncio.Task[None] | None) -> None:
        if writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        try:
            await self._send(
                {"type": "websocket.close", "code": SLOW_CLIENT, "reason": "client too slow"}
            )
        except Exception as exc:  # the socket may be gone already; nothing left to tell it
            logger.debug("Could not send close %d: %s", SLOW_CLIENT, exc)

    async def aclose(self) -> None:
        """Give queued frames (and a close) a second to go out, then cancel them."""
        tasks = [t for t in (self._writer, self._closer) if t is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=_DRAIN_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _coroutine(awaitable: Awaitable[None]) -> Coroutine[Any, Any, None]:
    if type(awaitable) is CoroutineType or isinstance(awaitable, Coroutine):  # fast path first
        return cast(Coroutine[Any, Any, None], awaitable)

    async def wrapper() -> None:  # an ASGI send may return any awaitable
        await awaitable

    return wrapper()


async def _finish(coro: Coroutine[Any, Any, None], waiting_on: object) -> None:
    """Run ``coro``, which was started by hand and is waiting on ``waiting_on``, to its end.

    This is what a task does with a coroutine (what Python 3.12's eager tasks do
    after their first step): wait until the future it yielded is done, then resume
    it. Cancelled, it cancels that future (as ``Task.cancel`` does) and closes it.
    """
    while True:
        try:
            if waiting_on is None:  # a bare yield: give the loop one turn
                await asyncio.sleep(0)
            elif asyncio.isfuture(waiting_on):
                waiting_on._asyncio_future_blocking = False
                await asyncio.wait((waiting_on,))
            else:
                coro.close()
                raise RuntimeError(f"The ASGI send yielded {waiting_on!r}, not a future")
        except asyncio.CancelledError:
            if asyncio.isfuture(waiting_on):
                waiting_on.cancel()
            coro.close()
            raise
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return
