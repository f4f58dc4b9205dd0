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
from collections.abc import Callable

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

    def __init__(
        self, send: Send, max_bytes: int | None, on_overflow: Callable[[int], None]
    ) -> None:
        self._send = send
        self.max_bytes = max_bytes
        self._on_overflow = on_overflow
        self._queue: deque[tuple[Message, int]] = deque()
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
                return
            self._queue.append((message, 0))
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
        self._queue.append((message, size))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        queue, send = self._queue, self._send
        try:
            while queue:
                message, size = queue[0]
                await send(message)
                queue.popleft()
                self.buffered -= size
        except OSError as exc:  # the client went away; its disconnect event follows
            logger.debug("Outbound frames dropped: %s", exc)
            self._drop()
        except Exception:
            logger.exception("Sending to the client failed; outbound frames dropped")
            self._drop()
        finally:
            self._writer = None

    def _drop(self) -> None:
        self._closing = True
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
