"""One pipelined connection per shard per event loop: the hot path of both layers.

A pooled redis-py client checks a connection out of the pool (with a health
peek), arms a timeout around the write and another around the read, for every
command; for commands as small as PUBLISH or a short EVALSHA that bookkeeping
costs more than the round trip. Here every call of a loop to a shard shares
one connection: it writes the packed command and parks a future, and one
reader task resolves the futures in reply order. Concurrent calls are
pipelined for free. Blocking commands (BRPOP, SUBSCRIBE) never go through a
pipe: they would hold up every call behind them.

Failures stay quick and loud: an error reply fails that call only; a dropped
connection fails every waiting call with
:class:`~fast_channels.exceptions.ChannelLayerConnectionError` at once, the
next call reconnects (one attempt, within the connect timeout), and a
watchdog drops a connection whose replies stall for ``reply_timeout``
seconds, so no call waits longer than that for a silent server. A call that
timed out may still have run on the server (its reply arrived too late); a
cancelled call keeps its place in the reply order, so no reply is mistaken
for another's.
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

from ....exceptions import ChannelLayerConnectionError
from . import dedicated
from .dedicated import disconnect
from .errors import CONNECTION_ERRORS, unreachable

logger = logging.getLogger(__name__)

Arg = bytes | str | int | float


def pack(*args: Arg) -> bytes:
    """The RESP encoding of one command (``pack(b"GET", "key")``)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, bool):  # a bool is an int: refuse it like redis-py does
            raise TypeError(f"cannot send a bool to Redis: {arg!r}")
        elif isinstance(arg, int):
            data = b"%d" % arg
        elif isinstance(arg, float):
            data = repr(arg).encode()
        else:
            raise TypeError(f"cannot send a {type(arg).__name__} to Redis: {arg!r}")
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


def pack_publish(name: bytes, payload: bytes) -> bytes:
    """The RESP encoding of ``PUBLISH name payload`` (the pub/sub hot path, unrolled)."""
    return b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        len(name),
        name,
        len(payload),
        payload,
    )


class ShardPipe:
    """Runs packed commands on one shard over one connection, in one event loop.

    :param connect: returns a new, unconnected connection to the shard.
    :param describe: the shard's address, for error messages.
    :param reply_timeout: seconds replies may stall while calls wait before the
        connection is dropped and those calls fail.
    """

    def __init__(
        self,
        connect: Callable[[], AbstractConnection],
        describe: str,
        reply_timeout: float,
    ) -> None:
        self._connect = connect
        self.describe = describe
        self.reply_timeout = reply_timeout
        self._conn: AbstractConnection | None = None
        self._opening: asyncio.Future[AbstractConnection] | None = None
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        #: Loop time of the last reply, or of the first call after an idle spell.
        self._progress = 0.0

    async def call(self, command: bytes) -> Any:
        """Send one packed command (:func:`pack`) and return its reply.

        An error reply raises its ``redis.exceptions.ResponseError`` for this
        call only; a broken or silent connection raises
        :class:`~fast_channels.exceptions.ChannelLayerConnectionError`.
        """
        conn = self._conn or await self._open()
        if self._conn is not conn:  # it broke while we were resuming; nobody reads it
            raise unreachable(self.describe, "is unreachable (connection lost)")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        waiting = self._waiting
        if not waiting:
            self._progress = loop.time()
        waiting.append(future)
        try:
            await conn.send_packed_command(command, check_health=False)
        except CONNECTION_ERRORS as exc:
            self._broken(conn, unreachable(self.describe, f"is unreachable ({exc})"))
            await disconnect(conn)
        return await future

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
            await dedicated.connect(conn, min(dedicated.CONNECT_TIMEOUT, self.reply_timeout))
        except CONNECTION_ERRORS as exc:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await conn.disconnect(nowait=True)
            raise unreachable(self.describe, f"is unreachable ({exc})") from exc
        self._conn = conn
        self._tasks = [
            asyncio.create_task(self._read(conn), name=f"fast-channels pipe {self.describe}"),
            asyncio.create_task(self._watch(conn)),
        ]
        return conn

    async def _read(self, conn: AbstractConnection) -> None:
        read, waiting = conn.read_response, self._waiting
        loop = asyncio.get_running_loop()
        while True:
            try:
                reply = await read(disconnect_on_error=False)
            except ResponseError as exc:  # an error reply fails that one call only
                reply = exc
            except CONNECTION_ERRORS as exc:
                problem = f"is unreachable ({exc or type(exc).__name__})"
                self._broken(conn, unreachable(self.describe, problem))
                await disconnect(conn)
                return
            self._progress = loop.time()
            if waiting:
                future = waiting.popleft()
                if not future.done():  # a cancelled call still owned this reply
                    if isinstance(reply, ResponseError):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)

    async def _watch(self, conn: AbstractConnection) -> None:
        """Drop the connection when replies stop for ``reply_timeout`` while calls wait.

        One timer for the whole connection, not one per call: it wakes when the
        oldest possible deadline is due (``_progress`` only moves forward), so a
        call never waits more than ``reply_timeout`` without any reply arriving.
        """
        loop = asyncio.get_running_loop()
        timeout = self.reply_timeout
        while self._conn is conn:
            delay = self._progress + timeout - loop.time() if self._waiting else timeout
            if delay <= 0:
                problem = f"did not answer within {timeout}s"
                self._broken(conn, unreachable(self.describe, problem))
                await disconnect(conn)
                return
            await asyncio.sleep(delay)

    def _broken(self, conn: AbstractConnection, error: ChannelLayerConnectionError) -> None:
        """Forget ``conn`` and fail everything waiting on it with ``error``."""
        if self._conn is not conn:
            return
        self._conn = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def close(self) -> None:
        """Fail waiting calls and drop the connection; the next call reconnects."""
        conn = self._conn
        if conn is not None:
            self._broken(conn, ChannelLayerConnectionError("the channel layer was closed"))
            await disconnect(conn)
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        tasks, self._tasks = self._tasks, []
        await asyncio.gather(*tasks, return_exceptions=True)
