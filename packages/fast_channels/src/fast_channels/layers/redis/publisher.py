"""One pipelined PUBLISH connection per shard: the pub/sub layer's send path.

A pooled redis-py client checks a connection out of the pool, arms a timeout
around the write and another around the read, for every command; for a
command as small as PUBLISH that bookkeeping costs more than the round trip.
Here every publish of a loop shares one connection: it writes the command
and parks a future, and one reader task resolves the futures in reply order.
Concurrent sends are pipelined for free.

Failures stay quick and loud: a dropped connection fails every waiting
publish with :class:`ChannelLayerConnectionError` at once, the next publish
reconnects (one attempt, ``socket_connect_timeout``), and a watchdog drops a
connection whose replies stall for ``reply_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

from ...exceptions import ChannelLayerConnectionError
from .dedicated import CONNECTION_ERRORS, connect, disconnect

logger = logging.getLogger(__name__)

#: Seconds a PUBLISH may wait for its reply before the connection is dropped.
REPLY_TIMEOUT = 5.0


def pack_publish(name: bytes, payload: bytes) -> bytes:
    """The RESP encoding of ``PUBLISH name payload``."""
    return b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        len(name),
        name,
        len(payload),
        payload,
    )


class ShardPublisher:
    """Publishes to one shard over one connection, in one event loop."""

    #: Seconds replies may stall, while publishes wait, before the connection is dropped.
    reply_timeout: float = REPLY_TIMEOUT

    def __init__(
        self,
        connect: Callable[[], AbstractConnection],
        describe: str,
    ) -> None:
        self._connect = connect
        self.describe = describe
        self._conn: AbstractConnection | None = None
        self._opening: asyncio.Future[AbstractConnection] | None = None
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._replies = 0

    async def publish(self, name: bytes, payload: bytes) -> None:
        """PUBLISH and wait for Redis to acknowledge it."""
        conn = self._conn or await self._open()
        if self._conn is not conn:  # it broke while we were resuming; nobody reads it
            raise self._error(ConnectionError("connection lost"))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        try:
            await conn.send_packed_command(pack_publish(name, payload), check_health=False)
        except CONNECTION_ERRORS as exc:
            self._broken(conn, exc)
            await disconnect(conn)
        await future

    async def _open(self) -> AbstractConnection:
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._connect_once())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None

    async def _connect_once(self) -> AbstractConnection:
        conn = self._connect()
        try:
            await connect(conn)
        except CONNECTION_ERRORS as exc:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await conn.disconnect(nowait=True)
            raise self._error(exc) from exc
        self._conn = conn
        self._tasks = [
            asyncio.create_task(self._read(conn), name=f"fast-channels publish {self.describe}"),
            asyncio.create_task(self._watch(conn)),
        ]
        return conn

    async def _read(self, conn: AbstractConnection) -> None:
        read, waiting = conn.read_response, self._waiting
        while True:
            try:
                reply = await read(disconnect_on_error=False)
            except ResponseError as exc:  # an error reply fails that one publish only
                reply = exc
            except CONNECTION_ERRORS as exc:
                self._broken(conn, exc)
                await disconnect(conn)
                return
            self._replies += 1
            if waiting:
                future = waiting.popleft()
                if not future.done():
                    if isinstance(reply, ResponseError):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)

    async def _watch(self, conn: AbstractConnection) -> None:
        """Drop the connection when replies stop while publishes are waiting."""
        step = self.reply_timeout / 4
        stalled = 0.0
        seen = self._replies
        while self._conn is conn:
            await asyncio.sleep(step)
            if self._waiting and self._replies == seen:
                stalled += step
                if stalled >= self.reply_timeout:
                    self._broken(conn, TimeoutError(f"no reply in {self.reply_timeout}s"))
                    await disconnect(conn)
                    return
            else:
                stalled, seen = 0.0, self._replies

    def _broken(self, conn: AbstractConnection, exc: BaseException) -> None:
        """Forget ``conn`` and fail everything waiting on it."""
        if self._conn is not conn:
            return
        self._conn = None
        error = self._error(exc)
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    def _error(self, exc: BaseException) -> ChannelLayerConnectionError:
        return ChannelLayerConnectionError(
            f"Redis at {self.describe} is unreachable ({exc}). Check that it is running "
            "(redis-cli ping) and the URL is right; the layer reconnects by itself once it "
            "answers. The message was not sent."
        )

    async def close(self) -> None:
        conn = self._conn
        if conn is not None:
            self._broken(conn, ConnectionError("the channel layer was closed"))
            await disconnect(conn)
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        tasks, self._tasks = self._tasks, []
        await asyncio.gather(*tasks, return_exceptions=True)
