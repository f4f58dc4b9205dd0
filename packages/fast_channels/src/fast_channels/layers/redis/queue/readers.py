"""Background tasks that pop messages from Redis into local mailboxes.

- :class:`InboxReader`: one per process (per event loop and channel prefix):
  drains the shared inbox of every process-local channel ``name!...`` with one
  blocking call, however many channels the process serves, and tells Redis
  which messages were received so they stop counting against capacity.
- :class:`NamedReader`: one per named channel while a ``receive()`` waits on
  it; pops only as many messages as there are receivers, so several processes
  can share a named channel as a work queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

from ....exceptions import ChannelLayerConnectionError
from .._transport.connections import RedisConnections
from .._transport.dedicated import connect, disconnect
from .._transport.errors import RETRYABLE
from .._transport.pipe import pack
from .._transport.tasks import cancel_and_wait, now_ms
from .guard import COMMAND_TIMEOUT, guarded
from .mailbox import Mailbox
from .scripts import UNCOUNT, parse_entry

logger = logging.getLogger("fast_channels.layers.redis")

#: Errors after which a reader waits and tries again (failover shows ReadOnlyError).
#: Entries fetched per round trip after the blocking pop.
BATCH = 500
MAX_BACKOFF = 1.0
#: At most this many seconds after a receive, Redis knows the message no longer
#: counts against capacity (usually sooner: the reader's next fetch carries it).
REPORT_DELAY = 0.005
_Args = list[str | int]
#: Received messages that make the reader's next fetch carry the report.
PIGGYBACK_MIN = 32


class FlushCutoff:
    """Drops messages sent before the last ``flush()`` that were already in flight."""

    def __init__(self, expiry_ms: int) -> None:
        self.expiry_ms = expiry_ms
        self.at = 0

    def flushed(self, deadline: int) -> bool:
        return deadline - self.expiry_ms < self.at


class InboxReader:
    """Drain one inbox list into per-channel mailboxes; reconnect forever.

    The reader has a dedicated connection (:mod:`.dedicated`) and speaks to it
    directly (a blocking pop plus a batch pop, one write per round trip), which
    costs far less per message than going through the pool each time.
    """

    def __init__(
        self,
        conns: RedisConnections,
        index: int,
        inbox_key: str,
        count_key: str,
        *,
        block: float,
        cutoff: FlushCutoff,
        capacity: Callable[[str], int],
    ) -> None:
        self._conns = conns
        self._index = index
        self._inbox = inbox_key
        self._capacity = capacity
        self._pending_total = 0
        self._count_key = count_key
        self._block = block
        self._cutoff = cutoff
        self.mailboxes: dict[str, Mailbox] = {}
        self._received: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._report_task: asyncio.Task[None] | None = None
        self._report_timer: asyncio.TimerHandle | None = None
        self._conn: AbstractConnection | None = None
        self._script_missing = False
        self._blmpop = True
        self._packed_pop: bytes | None = None
        self.outage = False

    def mailbox(self, channel: str) -> Mailbox:
        box = self.mailboxes.get(channel)
        if box is None:
            box = self.mailboxes[channel] = Mailbox()
        return box

    def start(self) -> None:
        if self._task is None or self._task.done():
            name = f"fast-channels reader {self._inbox}"
            self._task = asyncio.create_task(self._run(), name=name)

    def received(self, channel: str, count: int = 1) -> None:
        """Record that ``count`` messages of ``channel`` left the queue (read or expired).

        Reported in one batch within ``REPORT_DELAY`` seconds, at once when a
        channel has half its capacity waiting to be released, and with the
        reader's next fetch during a burst.
        """
        pending = self._received[channel] = self._received.get(channel, 0) + count
        self._pending_total += count
        if pending * 2 >= self._capacity(channel):
            self._report_due()
        elif self._report_timer is None:  # one timer per REPORT_DELAY, not one per message
            loop = asyncio.get_running_loop()
            self._report_timer = loop.call_later(REPORT_DELAY, self._report_due)

    def _report_due(self) -> None:
        if self._report_timer is not None:
            self._report_timer.cancel()
            self._report_timer = None
        if self._received and (self._report_task is None or self._report_task.done()):
            self._report_task = asyncio.create_task(self._report())

    async def stop(self) -> None:
        if self._report_timer is not None:
            self._report_timer.cancel()
            self._report_timer = None
        await cancel_and_wait(self._task)
        await cancel_and_wait(self._report_task)
        await self._drop_connection()
        error = ChannelLayerConnectionError("the channel layer was closed")
        for box in self.mailboxes.values():
            box.fail(error)

    async def _report(self) -> None:
        delay = REPORT_DELAY
        while args := self._take_received():
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await UNCOUNT(self._conns.pipe(self._index), [self._count_key], args)
            except (*RETRYABLE, TimeoutError, ChannelLayerConnectionError):
                self._restore(args)  # Redis is away: report them later
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if self._received and self._report_timer is None:  # received meanwhile
                loop = asyncio.get_running_loop()
                self._report_timer = loop.call_later(REPORT_DELAY, self._report_due)
            return  # at most one report per REPORT_DELAY

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                entries = await self._fetch()
            except Exception as exc:  # the reader must outlive any error: log, wait, retry
                if not isinstance(exc, RETRYABLE):
                    logger.exception("Unexpected error reading %s; retrying", self._inbox)
                elif not self.outage:
                    logger.warning(
                        "Redis at %s unreachable (%s); process-local channels wait and retry",
                        self._conns.hosts[self._index].describe(),
                        exc,
                    )
                self.outage = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if self.outage:
                logger.warning("Redis reachable again; process-local channels resumed")
                self.outage, delay = False, 0.05
            self._dispatch(entries)

    async def _fetch(self) -> list[bytes]:
        if self._conn is None:
            conn = self._conns.dedicated(self._index)
            try:
                await connect(conn)
            except BaseException:
                await disconnect(conn)
                raise
            self._conn = conn
        conn = self._conn
        # During a burst, what was received rides along in the same write.
        args = self._take_received() if self._pending_total >= PIGGYBACK_MIN else []
        command = self._pop_command()
        if args:
            script = UNCOUNT.source if self._script_missing else UNCOUNT.sha
            verb = "EVAL" if self._script_missing else "EVALSHA"
            command = pack(verb, script, 1, self._count_key, *args) + command
        try:
            async with asyncio.timeout(self._block + COMMAND_TIMEOUT):  # a silent peer
                return await self._exchange(conn, command, args)
        except BaseException:
            await self._drop_connection()  # replies may be half read: never reuse it
            raise

    async def _exchange(self, conn: AbstractConnection, command: bytes, args: _Args) -> list[bytes]:
        await conn.send_packed_command(command, check_health=False)
        if args:
            try:
                await conn.read_response()
                self._script_missing = False
            except ResponseError:  # NOSCRIPT after a restart: EVAL it next time
                self._restore(args)
                self._script_missing = True
        try:
            popped = await conn.read_response()
        except ResponseError:
            if not self._blmpop:
                raise
            self._blmpop = False  # Redis < 7: BRPOP + RPOP from now on
            self._packed_pop = None
            return []
        if self._blmpop:
            return list(popped[1]) if popped else []
        more = await conn.read_response()
        return [popped[1], *(more or [])] if popped else list(more or [])

    def _pop_command(self) -> bytes:
        """The packed pop, the same every time (so packed once)."""
        if self._packed_pop is None:  # Redis 7: block for one, take up to BATCH, in one command
            self._packed_pop = (
                pack(b"BLMPOP", self._block, 1, self._inbox, b"RIGHT", b"COUNT", BATCH)
                if self._blmpop
                else pack(b"BRPOP", self._inbox, self._block) + pack(b"RPOP", self._inbox, BATCH)
            )
        return self._packed_pop

    def _take_received(self) -> list[str | int]:
        args: list[str | int] = []
        for channel, count in self._received.items():
            args += (channel, count)
        self._received.clear()
        self._pending_total = 0
        return args

    def _restore(self, args: list[str | int]) -> None:
        for i in range(0, len(args), 2):
            channel = str(args[i])
            self._received[channel] = self._received.get(channel, 0) + int(args[i + 1])

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await disconnect(conn)

    def _dispatch(self, entries: list[bytes]) -> None:
        now = now_ms()
        for entry in entries:
            deadline, channel, payload = parse_entry(entry)
            if deadline < now or self._cutoff.flushed(deadline):
                self.received(channel)
            else:
                self.mailbox(channel).put((deadline, payload))


class NamedReader:
    """Pop a named channel's list, one message per waiting receiver."""

    def __init__(
        self, conns: RedisConnections, index: int, key: str, *, block: float, cutoff: FlushCutoff
    ) -> None:
        self._conns = conns
        self._index = index
        self._key = key
        self._block = block
        self._cutoff = cutoff
        self.mailbox = Mailbox()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"fast-channels reader {self._key}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self.mailbox.fail(ChannelLayerConnectionError("the channel layer was closed"))

    async def _run(self) -> None:
        client = self._conns.client(self._index)
        while self.mailbox.has_waiters:
            try:
                async with guarded(self._conns, self._index, self._block + COMMAND_TIMEOUT):
                    popped = await client.brpop([self._key], timeout=self._block)  # type: ignore[misc, arg-type]  # sync-or-async stub; float seconds are fine
            except ChannelLayerConnectionError as exc:
                self.mailbox.fail(exc)  # a receive() during an outage fails fast
                return
            if popped:
                deadline, _, payload = parse_entry(popped[1])
                if not self._cutoff.flushed(deadline):
                    self.mailbox.put((deadline, payload))
