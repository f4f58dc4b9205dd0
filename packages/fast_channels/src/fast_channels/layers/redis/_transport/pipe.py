"""One pipelined connection per shard per event loop: the hot path of both layers.

A pooled redis-py client checks a connection out of the pool (with a health
peek), arms a timeout around the write and another around the read, for every
command; for commands as small as PUBLISH or a short EVALSHA that bookkeeping
costs more than the round trip. Here every call of a loop to a shard shares
one connection: it writes the packed command and parks a future, and one
reader task resolves the futures in reply order. Concurrent calls are
pipelined for free. Blocking commands (BRPOP, SUBSCRIBE) never go through a
pipe: they would hold up every call behind them.

What a call can rely on:

- A command is handed to the socket's transport whole, in one synchronous
  ``write()``: a caller cancelled at any point never leaves half a command on
  the wire, so cancelling one call (a large message, a request that went
  away) never breaks the connection for the others. A cancelled call keeps
  its place in the reply order, so no reply is mistaken for another's.
- A call fails only if its own command may not have run. An error reply fails
  that call only, as a :class:`~fast_channels.exceptions.ChannelLayerError`
  subclass (never a redis-py exception). A dropped connection fails every
  waiting call with :class:`~fast_channels.exceptions.ChannelLayerConnectionError`
  at once; the next call reconnects (one attempt, within the connect timeout).
- No call waits longer than ``reply_timeout`` for a silent server, however
  large its command: a watchdog drops a connection whose replies stall that
  long while calls wait (a frozen server, a full TCP window) and discards
  what was still unsent. A call that timed out may still have run.
- A command larger than ``max_size`` bytes raises
  :class:`~fast_channels.exceptions.MessageTooLarge` before it touches the
  connection. So does one over the server's ``proto-max-bulk-len``, which
  each new connection asks for (``CONFIG GET``, pipelined with the first
  calls): the server would answer it with a protocol error and close the
  connection, failing every call behind it. Until that reply is in (or where
  ``CONFIG`` is refused), the server's refusal raises it too.
- A server that answers as a demoted or loading replica (``READONLY``,
  ``LOADING``, ``MASTERDOWN``: an address that now leads to a new primary, as
  managed Redis services and proxies do on failover) gets no new calls: its
  connection is retired once its pending replies are in, and the refused
  command (it did not run) is tried once more on a fresh connection. If that
  fails too, the call raises ``ChannelLayerConnectionError``.
- PUBLISH and SUBSCRIBE are not writes: a demoted server takes them without a
  word. With ``role_check_interval``, each connection asks ``ROLE`` that often
  and is retired the same way when its server is not a primary any more;
  ``on_demoted`` hears of it (the pub/sub layer moves its subscriber too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, RedisError

from ....exceptions import ChannelLayerConnectionError, MessageTooLarge
from . import dedicated
from .dedicated import abort, disconnect, transport_of
from .errors import CONNECTION_ERRORS, REPLY_ERRORS, reply_error, unreachable
from .resp import Arg, pack, pack_publish, pack_spublish

if TYPE_CHECKING:
    from ....metrics.layer import LinkMetrics

__all__ = ["MAX_COMMAND_BYTES", "Arg", "ShardPipe", "pack", "pack_publish", "pack_spublish"]

logger = logging.getLogger(__name__)

#: Largest packed command (message, channel name and a few bytes of framing) a
#: pipe sends: far below Redis's own 512 MB ``proto-max-bulk-len``, because a
#: message this large holds up every call pipelined behind it, and a
#: subscriber whose output buffer passes 32 MB (Redis's default
#: ``client-output-buffer-limit pubsub``) is disconnected.
MAX_COMMAND_BYTES = 16 * 1024 * 1024
_ASKING = pack(b"ASKING")
_ROLE = pack(b"ROLE")
_BULK_LIMIT = pack(b"CONFIG", b"GET", b"proto-max-bulk-len")


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # an ASKING reply nobody waits for: never "never retrieved"


class _Failover(Exception):
    """The server refused a command as a non-primary: it did not run, try a new connection."""

    def __init__(self, error: ChannelLayerConnectionError) -> None:
        super().__init__(str(error))
        self.error = error


class _Link:
    """One connection of a pipe and the calls waiting for its replies, in order."""

    __slots__ = ("closed", "conn", "loop", "progress", "retired", "tasks", "waiting", "write")

    def __init__(self, conn: AbstractConnection, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self.loop = loop
        self.write = transport_of(conn).write
        self.waiting: deque[asyncio.Future[Any]] = deque()
        #: Loop time of the last reply, or of the first call after an idle spell.
        self.progress = 0.0
        #: No new calls (the server refused one as a non-primary); close when drained.
        self.retired = False
        self.closed = False
        self.tasks: list[asyncio.Task[None]] = []


class ShardPipe:
    """Runs packed commands on one shard over one connection, in one event loop.

    :param connect: returns a new, unconnected connection to the shard.
    :param describe: the shard's address, for error messages.
    :param reply_timeout: seconds replies may stall while calls wait before the
        connection is dropped and those calls fail.
    :param max_size: largest command in bytes; larger ones raise ``MessageTooLarge``.
    :param role_check_interval: seconds between ``ROLE`` checks of a connection
        (None: none; see the module docs).
    """

    def __init__(
        self,
        connect: Callable[[], AbstractConnection],
        describe: str,
        reply_timeout: float,
        max_size: int = MAX_COMMAND_BYTES,
        role_check_interval: float | None = None,
    ) -> None:
        self._connect = connect
        self.describe = describe
        self.reply_timeout = reply_timeout
        self.max_size = max_size
        #: The server's ``proto-max-bulk-len``, once a connection learned it.
        self.server_limit: int | None = None
        self._link: _Link | None = None
        #: Every link whose tasks still run: the current one and retired ones draining.
        self._links: set[_Link] = set()
        self._opening: asyncio.Future[_Link] | None = None
        #: Where round trips (successful calls), losses and reconnects are counted.
        self.link_metrics: LinkMetrics | None = None
        self.role_check_interval = role_check_interval
        #: Called (no arguments) when a connection's server turned out not to be a primary.
        self.on_demoted: Callable[[], None] | None = None

    async def call(self, command: bytes, *, asking: bool = False) -> Any:
        """Send one packed command (:func:`pack`) and return its reply.

        Raises ``MessageTooLarge`` for a command over ``max_size``,
        ``ChannelLayerConnectionError`` for a broken, silent or failing-over
        server, another ``ChannelLayerError`` for an error reply. The one
        exception: ``NOSCRIPT`` stays redis-py's ``NoScriptError``, for the
        script runner that answers it with EVAL (it never reaches a caller).
        ``asking`` sends ``ASKING`` in the same write, right before it (a
        cluster's ``ASK`` redirection: it allows only the next command).
        """
        if asking:
            command = _ASKING + command
        latency = self.link_metrics.latency if self.link_metrics is not None else None
        if latency is None:
            return await self._call(command)
        start = time.perf_counter_ns()
        reply = await self._call(command)
        latency.observe((time.perf_counter_ns() - start) // 1000)
        return reply

    def _too_large(self, command: bytes) -> MessageTooLarge | None:
        size, server = len(command), self.server_limit
        if server is not None and server < self.max_size and size > server:
            return MessageTooLarge(
                f"A message of {size} bytes (serialized, with its channel name) is larger "
                f"than the proto-max-bulk-len of Redis at {self.describe}, {server} bytes: "
                "nothing was sent. Send smaller messages or raise proto-max-bulk-len.",
                size=size,
                limit=server,
            )
        if size > self.max_size:
            return MessageTooLarge(
                f"A message of {size} bytes (serialized, with its channel name) "
                f"is larger than the limit of {self.max_size} bytes: nothing was sent. "
                "Send a reference to the data (a key, a URL) instead of the data.",
                size=size,
                limit=self.max_size,
            )
        return None

    async def _call(self, command: bytes) -> Any:
        if (too_large := self._too_large(command)) is not None:
            raise too_large
        try:
            return await self._send(self._link or await self._open(), command)
        except _Failover:
            pass  # did not run; the address may lead to the new primary now
        except MessageTooLarge as exc:  # the server's limit: say how large this one was
            raise MessageTooLarge(
                f"A message of {len(command)} bytes (serialized, with its channel name): {exc}",
                size=len(command),
            ) from exc.__cause__
        try:
            return await self._send(self._link or await self._open(), command)
        except _Failover as again:
            raise again.error from again.error.__cause__

    def _send(self, link: _Link, command: bytes) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = link.loop.create_future()
        waiting = link.waiting
        if not waiting:
            link.progress = link.loop.time()
        if command.startswith(_ASKING):  # ASKING's own reply comes first: nobody's
            skipped: asyncio.Future[Any] = link.loop.create_future()
            skipped.add_done_callback(_retrieve)
            waiting.append(skipped)
        waiting.append(future)
        link.write(command)  # whole, at once: see the module docs
        return future

    async def call_batch(self, commands: Sequence[bytes]) -> list[Any]:
        """Send ``commands`` in one write; return each one's reply or exception, in order.

        One round trip for many commands (a cluster ``group_send`` sends one
        script per slot to a node). A failover reply, a broken connection or
        an over-large command fails that command's entry, never the others'
        already sent; nothing is retried here.
        """
        limit = min(self.max_size, self.server_limit or self.max_size)
        if sum(map(len, commands)) > limit:  # too large together: one by one
            return list(await asyncio.gather(*map(self.call, commands), return_exceptions=True))
        link = self._link or await self._open()
        futures = []
        waiting = link.waiting
        if not waiting:
            link.progress = link.loop.time()
        for _ in commands:
            future: asyncio.Future[Any] = link.loop.create_future()
            waiting.append(future)
            futures.append(future)
        link.write(b"".join(commands))  # whole, at once: see the module docs
        results = await asyncio.gather(*futures, return_exceptions=True)
        return [r.error if isinstance(r, _Failover) else r for r in results]

    async def _open(self) -> _Link:
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.ensure_future(self._connect_once())
            opening.add_done_callback(self._opened)
        link = await asyncio.shield(opening)  # a cancelled caller leaves the connect to others
        if link is not self._link:  # it broke while we were resuming; nobody reads it
            raise unreachable(self.describe, "is unreachable (connection lost)")
        return link

    def _opened(self, opening: asyncio.Future[_Link]) -> None:
        # Here, not in a caller: every caller may have been cancelled meanwhile,
        # and a failed attempt left behind would fail the next call.
        if self._opening is opening:
            self._opening = None
        if not opening.cancelled():
            opening.exception()  # retrieved: the callers that waited saw it

    async def _connect_once(self) -> _Link:
        conn = self._connect()
        try:
            await dedicated.connect(conn, min(dedicated.CONNECT_TIMEOUT, self.reply_timeout))
            link = _Link(conn, asyncio.get_running_loop())
        except BaseException as exc:  # cancelled (close()) included: no half-open socket
            abort(conn)
            await disconnect(conn)
            if isinstance(exc, CONNECTION_ERRORS):
                if self.link_metrics is not None:
                    self.link_metrics.down()
                raise unreachable(self.describe, f"is unreachable ({exc})") from exc
            raise
        if self.link_metrics is not None:
            self.link_metrics.up()
        link.tasks = [
            asyncio.create_task(self._read(link), name=f"fast-channels pipe {self.describe}"),
            asyncio.create_task(self._watch(link)),
        ]
        if self.role_check_interval is not None:
            link.tasks.append(asyncio.create_task(self._check_role(link, self.role_check_interval)))
        self._link = link
        self._links.add(link)
        self._send(link, _BULK_LIMIT).add_done_callback(self._learn_limit)
        return link

    def _learn_limit(self, reply: asyncio.Future[Any]) -> None:
        """Keep the server's ``proto-max-bulk-len`` (an ACL or a managed service may refuse)."""
        if reply.cancelled() or reply.exception() is not None:
            return
        value = reply.result()
        if isinstance(value, dict):  # RESP3: a map of the one name to its value
            value = [None, *value.values()]
        if isinstance(value, list) and len(value) == 2:
            with contextlib.suppress(TypeError, ValueError):
                self.server_limit = int(value[1])

    async def _read(self, link: _Link) -> None:
        read, waiting = link.conn.read_response, link.waiting
        loop = link.loop
        while True:
            try:
                reply = await read(disconnect_on_error=False)
            except REPLY_ERRORS as exc:  # an error reply fails that one call only
                reply = self._reply_error(link, exc)
            except Exception as exc:  # whatever broke it, the replies in flight are lost
                if not isinstance(exc, CONNECTION_ERRORS):
                    logger.exception("pipe to %s: reading a reply failed", self.describe)
                problem = f"is unreachable ({exc or type(exc).__name__})"
                if self.link_metrics is not None:
                    self.link_metrics.down()
                error = unreachable(self.describe, problem)
                error.__cause__ = exc  # callers (and consumers' error logs) see what broke
                await self._drop(link, error)
                return
            link.progress = loop.time()
            if waiting:
                future = waiting.popleft()
                if not future.done():  # a cancelled call still owned this reply
                    if isinstance(reply, BaseException):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
            if link.retired and not waiting:
                await self._drop(link, ChannelLayerConnectionError("connection retired"))
                return

    def _reply_error(self, link: _Link, exc: RedisError) -> BaseException:
        """What the call whose command drew the error reply ``exc`` raises."""
        if isinstance(exc, NoScriptError):
            return exc
        error = reply_error(exc, self.describe)
        error.__cause__ = exc
        if isinstance(error, MessageTooLarge):
            self._retire(link)  # a protocol error: the server closes this connection now
            return error
        if not isinstance(error, ChannelLayerConnectionError):
            return error
        # A failover reply: the server cannot take writes (see the module docs).
        if not link.retired:
            logger.warning("Redis at %s is not a writable primary (%s)", self.describe, exc)
            self._demoted()
        self._retire(link)
        return _Failover(error)

    def _demoted(self) -> None:
        if self.on_demoted is not None:
            try:
                self.on_demoted()
            except Exception:  # the owner's reaction must not break the pipe
                logger.exception("pipe to %s: on_demoted failed", self.describe)

    async def _check_role(self, link: _Link, interval: float) -> None:
        """Retire ``link`` once ``ROLE`` says its server is not a primary (see the module docs).

        A connection that fails or draws an error reply (an ACL without ROLE)
        is left to the reader and the watchdog; it is not checked any more.
        """
        while True:
            await asyncio.sleep(interval)
            if link.closed or link.retired:
                return
            try:
                reply = await self._send(link, _ROLE)
            except Exception:  # dropped (the next connection is checked anew) or refused
                return
            role = reply[0] if isinstance(reply, list) and reply else None
            if role in (b"master", "master") or link.closed or link.retired:
                continue
            logger.warning(
                "Redis at %s is not a primary any more (ROLE: %r); reconnecting",
                self.describe,
                role,
            )
            self._retire(link)
            self._demoted()
            if not link.waiting:  # else the reader closes it after the last reply
                await self._drop(link, ChannelLayerConnectionError("connection retired"))
            return

    def _retire(self, link: _Link) -> None:
        """New calls go to a new connection; ``link`` closes once its replies are in."""
        link.retired = True
        if self._link is link:
            self._link = None

    async def _watch(self, link: _Link) -> None:
        """Drop the connection when replies stop for ``reply_timeout`` while calls wait.

        One timer for the whole connection, not one per call: it wakes when the
        oldest possible deadline is due (``progress`` only moves forward), so a
        call never waits more than ``reply_timeout`` without any reply arriving.
        """
        loop = link.loop
        timeout = self.reply_timeout
        while not link.closed:
            delay = link.progress + timeout - loop.time() if link.waiting else timeout
            if delay <= 0:
                problem = f"did not answer within {timeout}s"
                if self.link_metrics is not None:
                    self.link_metrics.down()
                await self._drop(link, unreachable(self.describe, problem))
                return
            await asyncio.sleep(delay)

    async def _drop(self, link: _Link, error: ChannelLayerConnectionError) -> None:
        """Close ``link`` and fail everything still waiting on it with ``error``."""
        if link.closed:
            return
        link.closed = True
        if self._link is link:
            self._link = None
        self._links.discard(link)
        while link.waiting:
            future = link.waiting.popleft()
            if not future.done():
                future.set_exception(error)
        abort(link.conn)  # unsent bytes would wait for a frozen server forever
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await disconnect(link.conn)

    async def close(self) -> None:
        """Fail waiting calls and drop the connections; the next call reconnects."""
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
        links, tasks = list(self._links), [t for link in self._links for t in link.tasks]
        for link in links:
            await self._drop(link, ChannelLayerConnectionError("the channel layer was closed"))
        await asyncio.gather(*tasks, return_exceptions=True)
