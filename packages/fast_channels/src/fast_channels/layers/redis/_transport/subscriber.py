"""One shared Redis pub/sub connection per shard, kept alive across outages.

A :class:`ShardSubscriber` owns a dedicated connection (not the shard's
publishing pipe, so a slow subscriber never holds up publishes) and one reader
task. The reader hands every ``message`` push to a ``deliver(name, data)``
callback without decoding it, so the hot path is one parse and one call.

The reader never dies; it sorts what it catches into three kinds:

- *transient* (a dropped or silent connection, a refused connect): reconnect
  with a capped exponential backoff (50 ms doubling to 250 ms, jittered), so
  it is back at most ~250 ms after Redis answers again;
- *failover* (``READONLY``, ``MASTERDOWN``, ``LOADING`` ...: the server is not
  the master it was, or not ready yet): drop the connection and reconnect the
  same way, which asks Sentinel for the master again;
- anything else (an error reply such as ``NOPERM`` to one SUBSCRIBE, a failing
  ``deliver``): logged, and the connection keeps serving every other name. A
  subscribe that got an error reply fails after ``SUBSCRIBE_TIMEOUT`` with
  :class:`~fast_channels.exceptions.ChannelLayerConnectionError` naming it.
  An unexpected exception while reading drops the connection (the stream
  may be out of step) and reconnects.

On a Redis Cluster (``sharded``) it speaks sharded pub/sub: ``SSUBSCRIBE``
per slot, ``smessage`` pushes. A name whose slot moved (a ``MOVED`` reply to
its ``SSUBSCRIBE``, or an ``sunsubscribe`` the server pushes when the slot
leaves) is dropped here and handed to ``on_moved``, which subscribes it on
the new owner; ``on_down`` hears of every failed connection, so the owner can
move names off a node that died.

After a reconnect it subscribes every name it holds again. ``on_disconnect``
fires when a live connection is lost and ``on_reconnect`` once every name is
subscribed again. A silent connection (a frozen server, a dead network path)
is caught by a PING watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis.asyncio.connection import AbstractConnection
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ResponseError

from ....exceptions import ChannelLayerConnectionError
from .callbacks import Callback, Callbacks
from .dedicated import abort, connect, disconnect
from .errors import CONNECTION_ERRORS, unreachable
from .faults import Fault, classify, error_reply, is_failover
from .sharded import PLAIN, SHARDED, SlotMoved, moved_slot, subscribe_chunks
from .slots import key_slot
from .tasks import cancel_and_wait

if TYPE_CHECKING:
    from ....metrics.layer import LayerMetrics, LinkMetrics

logger = logging.getLogger(__name__)


#: Reconnect delays: BACKOFF_BASE doubling up to BACKOFF_CAP seconds, with jitter.
BACKOFF_BASE = 0.05
BACKOFF_CAP = 0.25
#: Seconds a SUBSCRIBE may take before the caller gets ChannelLayerConnectionError.
SUBSCRIBE_TIMEOUT = 5.0
#: An idle connection is PINGed after this many seconds and dropped if still silent
#: after as many again.
HEALTH_CHECK_INTERVAL = 10.0
#: Names per SUBSCRIBE command when resubscribing after a reconnect.
RESUBSCRIBE_CHUNK = 1000

#: Jitter spreads the reconnects of many processes after one outage.
BACKOFF = EqualJitterBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE)


class ShardSubscriber:
    """Subscriptions of one layer on one shard, in one event loop.

    :param connect: returns a new, unconnected redis-py connection to the shard.
    :param deliver: called with ``(channel name, payload)`` for every message.
    :param describe: the shard's address, for error messages.
    """

    #: Seconds of silence before a PING, and again before the connection is dropped.
    health_check_interval: float = HEALTH_CHECK_INTERVAL

    def __init__(
        self,
        connect: Callable[[], AbstractConnection],
        deliver: Callable[[bytes, bytes], None],
        describe: str,
        *,
        on_disconnect: Callback | None = None,
        on_reconnect: Callback | None = None,
        sharded: bool = False,
        on_moved: Callable[[bytes], None] | None = None,
        on_down: Callable[[], None] | None = None,
    ) -> None:
        self._connect = connect
        #: Redis Cluster sharded pub/sub: SSUBSCRIBE/SUNSUBSCRIBE, ``smessage`` pushes.
        self.sharded = sharded
        self._commands = SHARDED if sharded else PLAIN
        self._on_moved = on_moved
        self._on_down = on_down
        self._deliver = deliver
        self.describe = describe
        self._on_disconnect = on_disconnect
        self._on_reconnect = on_reconnect
        #: Every name that should be subscribed; resubscribed after each reconnect.
        self.names: set[bytes] = set()
        self._pending: dict[bytes, list[asyncio.Future[None]]] = {}
        self._conn: AbstractConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._down: Exception | None = None  # set while Redis is known unreachable
        self._was_connected = False
        self._resubscribing: set[bytes] | None = None
        self._reads = 0  # responses seen, for the watchdog
        self._callbacks = Callbacks()
        self._barriers: dict[bytes, asyncio.Future[None]] = {}
        self._barriers_sent = 1
        #: The last error reply on the connection (NOPERM ...), for subscribe errors.
        self._last_refusal: Exception | None = None
        #: Where losses, returns and resubscriptions are counted (None: nowhere).
        self.link: LinkMetrics | None = None
        self.metrics: LayerMetrics | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None

    # Subscriptions --------------------------------------------------------------------

    async def subscribe(self, name: bytes) -> None:
        """Subscribe ``name`` and return once Redis confirmed it.

        Raises :class:`ChannelLayerConnectionError` at once while Redis is known
        to be down, or after ``SUBSCRIBE_TIMEOUT``. The name stays in
        :attr:`names` either way; call :meth:`unsubscribe` to give it up.
        """
        self.names.add(name)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"fast-channels pubsub {self}")
        if self._down is not None:
            raise self._error(self._down)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(name, []).append(future)
        conn = self._conn
        if conn is not None and conn.is_connected:
            # Otherwise the reader subscribes every name once it (re)connects.
            # A failure here means a broken connection: the reader resubscribes.
            with contextlib.suppress(*CONNECTION_ERRORS):
                await conn.send_command(self._commands.subscribe, name, check_health=False)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for returns the
            # result when the confirmation lands in the same loop iteration as a
            # cancel, and the caller (a consumer being torn down) runs on.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await asyncio.shield(future)
        except TimeoutError:
            refused = self._last_refusal
            reason = (
                ""
                if refused is None
                else f"; its last error reply was {type(refused).__name__}: {refused}"
            )
            raise ChannelLayerConnectionError(
                f"Redis at {self.describe} did not confirm a subscription within "
                f"{SUBSCRIBE_TIMEOUT}s{reason}; is it overloaded or unreachable?"
            ) from refused  # None (no cause) when nothing was refused
        finally:
            waiting = self._pending.get(name)
            if waiting and future in waiting:
                waiting.remove(future)

    async def barrier(self) -> None:
        """Return once every message Redis pushed before this call has been delivered.

        A PING travels behind any message already on the wire, so when its reply
        is read, those messages went through ``deliver``. No-op while disconnected.
        """
        conn = self._conn
        if conn is None or not conn.is_connected:
            return
        token = str(self._barriers_sent).encode()
        self._barriers_sent += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers[token] = future
        try:
            await conn.send_command("PING", token, check_health=False)
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):  # see subscribe()
                await asyncio.shield(future)
        except (*CONNECTION_ERRORS, ChannelLayerConnectionError):
            pass  # a dropped connection delivers nothing more anyway
        finally:
            self._barriers.pop(token, None)

    def _ponged(self, token: bytes) -> None:
        future = self._barriers.pop(token, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def unsubscribe(self, name: bytes) -> None:
        """Stop receiving ``name``; never raises for connection problems."""
        self.names.discard(name)
        conn = self._conn
        if conn is not None and conn.is_connected:
            # A dropped connection is fine: the name is not resubscribed anyway.
            with contextlib.suppress(*CONNECTION_ERRORS):
                await conn.send_command(self._commands.unsubscribe, name, check_health=False)

    def recycle(self) -> None:
        """Drop the connection (its server was demoted); the reader reconnects and resubscribes."""
        conn = self._conn
        if conn is not None:
            logger.warning("Pub/sub connection to Redis at %s: server demoted", self.describe)
            abort(conn)  # the reader's read fails now and it starts over

    # Reader ---------------------------------------------------------------------------

    async def _run(self) -> None:
        """Serve one connection after the other until cancelled (see module docstring)."""
        failures = 0
        while True:
            conn: AbstractConnection | None = None
            reads = self._reads
            try:
                conn = self._connect()
                await connect(conn)
                await self._serve(conn)
            except CONNECTION_ERRORS as exc:
                if self._conn is not None:  # it was live: say so once per loss
                    kind = (
                        "failing over"
                        if is_failover(exc)
                        else "refused"
                        if error_reply(exc) is not None
                        else "unreachable"
                    )
                    logger.warning(
                        "Pub/sub connection to Redis at %s lost (%s): %s", self.describe, kind, exc
                    )
                self._went_down(exc)
            except Exception as exc:  # a bug or a reply we do not understand: start afresh
                logger.exception(
                    "Pub/sub reader for Redis at %s failed; reconnecting", self.describe
                )
                self._went_down(exc)
            finally:
                self._conn = None
                if conn is not None:
                    await disconnect(conn)
            # A connection that read something was healthy: start the backoff over.
            failures = 0 if self._reads != reads else failures + 1
            await asyncio.sleep(BACKOFF.compute(min(failures, 16)))

    async def _serve(self, conn: AbstractConnection) -> None:
        # No await between publishing the connection and snapshotting the names:
        # a concurrent subscribe() either is in the snapshot or sends its own.
        self._conn = conn
        self._down = None
        if self.link is not None:
            self.link.up()
        names = list(self.names)
        if self._was_connected:
            self._resubscribing = set(names)
        self._was_connected = True
        for chunk in self._chunks(names):
            await conn.send_command(self._commands.subscribe, *chunk)
        self._check_resubscribed()
        watchdog = asyncio.create_task(self._watch(conn))
        try:
            while True:
                try:
                    await self._read_some(conn)
                except ResponseError as exc:
                    if self._redirected(exc):
                        continue  # MOVED: those names were handed to on_moved
                    if is_failover(exc):
                        raise  # this server is the wrong one now: reconnect, rediscover
                    if self._resubscribing and classify(exc) is Fault.TRANSIENT:
                        # A resubscription refused (BUSY during a long script): which
                        # names is not known, and left alone they would stay
                        # unsubscribed on a live connection. Start afresh, backing off.
                        raise
                    # An error reply to one command (NOPERM on a SUBSCRIBE): the
                    # connection and every other subscription on it are fine.
                    # Kept as the cause of a failing subscribe; without its
                    # traceback, which would pin this reader's frames.
                    self._last_refusal = exc.with_traceback(None)
                    logger.error("Redis at %s refused a pub/sub command: %s", self.describe, exc)
        finally:
            await cancel_and_wait(watchdog)

    async def _read_some(self, conn: AbstractConnection) -> None:
        """Read and dispatch replies until one raises."""
        read, deliver = conn.read_response, self._deliver
        while True:
            # push_request: under RESP3, messages and confirmations are push
            # frames, which redis-py would otherwise hand to its push handler
            # while it keeps waiting. Under RESP2 the flag changes nothing.
            response = await read(push_request=True)
            self._reads += 1
            if not isinstance(response, list):  # hiredis: a list subclass for pushes
                # RESP3 answers PING on a subscribed connection with a plain
                # reply (the token, or b"PONG"); RESP2 with [b"pong", token].
                if isinstance(response, bytes):
                    self._ponged(response)
                continue
            kind = response[0]
            if kind == b"message" or kind == b"smessage":
                try:
                    deliver(response[1], response[2])
                except Exception:  # one message must not cost the others theirs
                    logger.exception("Delivering a message on %r failed", response[1])
            elif kind == b"subscribe" or kind == b"ssubscribe":
                self._confirmed(response[1])
            elif kind == b"sunsubscribe" and response[1] in self.names:
                # Not asked for: the server dropped it because its slot moved away.
                self._moved([response[1]], None)
            elif kind == b"pong" and response[1]:
                self._ponged(response[1])

    def _chunks(self, names: list[bytes]) -> list[list[bytes]]:
        return subscribe_chunks(names, self.sharded, RESUBSCRIBE_CHUNK)

    def _redirected(self, exc: ResponseError) -> bool:
        """A MOVED reply to an SSUBSCRIBE: hand that slot's names over (True), else False."""
        slot = moved_slot(exc) if self.sharded else None
        if slot is None:
            return False
        self._moved([n for n in self.names if key_slot(n) == slot], exc)
        return True

    def _moved(self, names: list[bytes], exc: ResponseError | None) -> None:
        """``names`` are served by another node now: forget them here, tell the owner."""
        error = SlotMoved(f"the slot of these channels moved away from {self.describe}")
        error.__cause__ = exc
        for name in names:
            self.names.discard(name)
            waiting = self._pending.pop(name, [])
            for future in waiting:
                if not future.done():
                    future.set_exception(error)
            if not waiting and self._on_moved is not None:
                try:
                    self._on_moved(name)
                except Exception:  # the owner's bookkeeping must not stop this reader
                    logger.exception("Handing over moved channel %r failed", name)
            if self._resubscribing is not None:
                self._resubscribing.discard(name)
        self._check_resubscribed()

    def _confirmed(self, name: bytes) -> None:
        for future in self._pending.pop(name, ()):
            if not future.done():
                future.set_result(None)
        if self._resubscribing is not None:
            self._resubscribing.discard(name)
            self._check_resubscribed()

    def _check_resubscribed(self) -> None:
        if self._resubscribing is not None and not self._resubscribing:
            self._resubscribing = None
            logger.info("Pub/sub connection to Redis at %s is back", self.describe)
            if self.metrics is not None and self.names:
                self.metrics.healed_memberships(len(self.names), "subscriptions", self.describe)
            self._callbacks.fire(self._on_reconnect)

    def _went_down(self, exc: Exception) -> None:
        if self.link is not None:
            self.link.down()
        if self._down is None and self._was_connected:
            self._callbacks.fire(self._on_disconnect)
        if self._on_down is not None:  # a cluster: another node may serve these slots now
            self._on_down()
        self._down = exc
        self._resubscribing = None
        error = self._error(exc)
        for futures in self._pending.values():
            for future in futures:
                if not future.done():
                    future.set_exception(error)
        self._pending.clear()
        for barrier in self._barriers.values():
            if not barrier.done():
                barrier.set_exception(error)
        self._barriers.clear()

    async def _watch(self, conn: AbstractConnection) -> None:
        """PING an idle connection; drop it if Redis stays silent."""
        interval = self.health_check_interval
        pinged = False
        while True:
            seen = self._reads
            await asyncio.sleep(interval)
            if self._reads != seen:
                pinged = False
            elif not pinged:
                pinged = True
                try:
                    await conn.send_command("PING", check_health=False)
                except Exception:  # the reader sees the broken connection too
                    return
            else:
                logger.warning("Redis at %s stopped answering; reconnecting", self.describe)
                await disconnect(conn)
                return

    def _error(self, exc: Exception) -> ChannelLayerConnectionError:
        error = unreachable(self.describe, f"is unreachable ({exc})", "Could not subscribe.")
        error.__cause__ = exc  # as ``raise error from exc`` would (it is raised elsewhere)
        return error

    # Lifecycle ------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the reader and drop the connection; pending subscribes fail."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for futures in self._pending.values():
            for future in futures:
                if not future.done():
                    future.set_exception(ChannelLayerConnectionError("the layer was closed"))
        self._pending.clear()
        self.names.clear()
        self._down = None
        self._was_connected = False

    def __repr__(self) -> str:
        return f"<ShardSubscriber {self.describe} names={len(self.names)}>"
