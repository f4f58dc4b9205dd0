"""Concurrent handling of client frames, for ``ConnectionLimits(max_concurrent_handlers=N)``.

With the default of 1 a WebSocket consumer handles one message at a time (see
:mod:`.base`). With N > 1 each client frame is handled in a task of its own, at
most N at once per connection; past N the consumer reads no further frame from
the server until one finishes. The server then stops reading the socket (uvicorn
pauses the transport while a frame waits for the app), TCP's window fills and
the client's sends block: nothing is dropped, nothing is buffered without bound,
and a client that floods is the rate limit's business, not this module's.

Channel layer messages keep their own order, one handler at a time, next to the
frame handlers: a slow request does not hold up broadcasts. Any other server
event (the handshake, the disconnect) waits for the frames in flight, so
``disconnect()`` runs after every frame already read was handled, as it does with
one handler at a time.

A frame handler that raises (or raises ``StopConsumer``) stops the consumer as it
would with one handler at a time: the other frames in flight are cancelled and
the exception goes to ``handle_exception()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..exceptions import StopConsumer
from ..types import Message, Receive

logger = logging.getLogger("fast_channels.consumer")


class FrameHandlers:
    """Runs the handlers of one connection's client frames, at most ``limit`` at once."""

    def __init__(
        self, limit: int, dispatch: Callable[[Message], Coroutine[Any, Any, None]]
    ) -> None:
        self.limit = limit
        self._dispatch = dispatch
        self._tasks: set[asyncio.Task[None]] = set()
        self._freed: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._reader: asyncio.Task[object] | None = None

    @property
    def in_flight(self) -> int:
        """How many frame handlers are running now."""
        return len(self._tasks)

    async def run(self, receive: Receive, lock: asyncio.Lock) -> None:
        """Read server events until the consumer stops; never returns normally.

        ``lock`` is the consumer's handler lock: events other than frames are
        handled under it, after the frames in flight, as the serial loop does.
        """
        self._reader = reader = asyncio.current_task()
        try:
            while True:
                while len(self._tasks) >= self.limit:  # back-pressure: read nothing more
                    self._freed = asyncio.get_running_loop().create_future()
                    await self._freed
                message = await receive()
                if message["type"] == "websocket.receive":
                    task = asyncio.create_task(self._dispatch(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._finished)
                    continue
                while self._tasks:
                    await asyncio.wait(tuple(self._tasks))
                async with lock:
                    await self._dispatch(message)
        except asyncio.CancelledError:
            # _finished() cancels this task to report a failed handler; any other
            # cancellation (the consumer tearing down) is passed on unchanged.
            if self._failure is not None and reader is not None and reader.uncancel() == 0:
                raise self._failure from None
            raise
        finally:
            self._reader = None
            await self._cancel_all()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        freed, self._freed = self._freed, None
        if freed is not None and not freed.done():
            freed.set_result(None)
        if task.cancelled():
            return
        exc = task.exception()  # always retrieved, so asyncio never reports it as lost
        if exc is None:
            return
        if self._failure is None and self._reader is not None:
            self._failure = exc  # run() raises it in the reading task
            self._reader.cancel()
        elif not isinstance(exc, StopConsumer):
            # The consumer is stopping for an earlier failure; this one must not vanish.
            logger.error("A frame handler failed while the consumer was stopping", exc_info=exc)

    async def _cancel_all(self) -> None:
        tasks = tuple(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            # Exceptions were reported through _finished(); only wait for the ends.
            await asyncio.wait(tasks)
