"""The inbox reader: pops messages of process-local channels into local mailboxes.

One :class:`InboxReader` per process (per event loop and channel prefix)
drains the shared inbox of every process-local channel ``name!...`` with one
blocking call, however many channels the process serves, and tells Redis
which messages were received so they stop counting against capacity.
(Named channels have their reader in :mod:`.named`.)

It never stops before ``close()``. Errors are sorted by :mod:`.faults`:
connection trouble, failover replies and transient error replies are retried
with a capped back-off on a fresh connection (so Sentinel is asked again),
and ``receive()`` calls wait through them; a permanent error (``NOPERM``,
``WRONGTYPE``) is logged once and fails the waiting ``receive()`` calls with
:class:`~fast_channels.exceptions.ChannelLayerConnectionError` while the
reader keeps retrying slowly. A malformed entry is logged and skipped; the
rest of its batch is delivered. Mailboxes nobody uses are swept away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError

from ....exceptions import ChannelLayerConnectionError
from .._transport.dedicated import connect, disconnect
from .._transport.faults import Fault, Trouble, is_unknown_command
from .._transport.pipe import pack
from .._transport.seam import Connections
from .._transport.tasks import cancel_and_wait, now_ms
from .guard import COMMAND_TIMEOUT
from .mailbox import FlushCutoff, Mailbox
from .scripts import UNCOUNT, parse_entry

logger = logging.getLogger("fast_channels.layers.redis")

#: Entries fetched per round trip after the blocking pop.
BATCH = 500
MAX_BACKOFF = 1.0
#: At most this many seconds after a receive, Redis knows the message no longer
#: counts against capacity (usually sooner: the reader's next fetch carries it).
REPORT_DELAY = 0.005
_Args = list[str | int]
#: Received messages that make the reader's next fetch carry the report.
PIGGYBACK_MIN = 32
#: Seconds between sweeps of expired buffered messages and unused mailboxes.
SWEEP_INTERVAL = 1.0


class InboxReader:
    """Drain one inbox list into per-channel mailboxes; reconnect forever.

    The reader has a dedicated connection (:mod:`.dedicated`) and speaks to it
    directly (a blocking pop plus a batch pop, one write per round trip), which
    costs far less per message than going through the pool each time.
    """

    def __init__(
        self,
        conns: Connections,
        inbox_key: str,
        count_key: str,
        *,
        block: float,
        cutoff: FlushCutoff,
        capacity: Callable[[str], int],
        idle_after: float,
    ) -> None:
        self._conns = conns
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
        #: Set by stop(): no report may start after it (the loop may be shutting down,
        #: and a report would reopen this loop's connections; the counts expire anyway).
        self._stopped = False
        self._report_timer: asyncio.TimerHandle | None = None
        self._conn: AbstractConnection | None = None
        self._conn_index = -1  # the shard self._conn leads to
        self._script_missing = False
        self._blmpop = True
        self._packed_pop: bytes | None = None
        #: A mailbox unused (empty, nobody waiting) this many seconds is dropped.
        self._idle_after = idle_after
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._count = conns.metrics.counts if conns.metrics is not None else None

    @property
    def _index(self) -> int:
        # Asked each time: on a cluster the inbox's slot may move to another node.
        return self._conns.shard_for(self._inbox)

    def mailbox(self, channel: str) -> Mailbox:
        box = self.mailboxes.get(channel)
        if box is None:
            box = self.mailboxes[channel] = Mailbox()
        return box

    def start(self) -> None:
        if self._task is None or self._task.done():
            name = f"fast-channels reader {self._inbox}"
            self._task = asyncio.create_task(self._run(), name=name)
        if self._sweep_timer is None:  # on a timer: an idle reader blocks in its pop
            self._sweep_timer = asyncio.get_running_loop().call_later(SWEEP_INTERVAL, self._sweep)

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
        if self._stopped:
            return
        if self._received and (self._report_task is None or self._report_task.done()):
            self._report_task = asyncio.create_task(self._report())

    async def stop(self) -> None:
        self._stopped = True
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
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
        trouble = Trouble(logger, f"receipts of {self._inbox}")
        while not self._stopped and (args := self._take_received()):
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await UNCOUNT(self._conns.pipe(self._index), [self._count_key], args)
            except Exception as exc:  # never lose the task; the receipts only if hopeless
                self._conns.note_error(exc)
                fault, delay = trouble.failed(exc, self._where)
                if fault is Fault.PERMANENT:
                    return  # the counts expire by themselves (see scripts.py)
                self._restore(args)  # report them later
                await asyncio.sleep(delay)
                continue
            if self._received and self._report_timer is None and not self._stopped:  # meanwhile
                loop = asyncio.get_running_loop()
                self._report_timer = loop.call_later(REPORT_DELAY, self._report_due)
            return  # at most one report per REPORT_DELAY

    @property
    def _where(self) -> str:
        return self._conns.hosts[self._index].describe()

    async def _run(self) -> None:
        trouble = Trouble(logger, f"reader of {self._inbox}", self._conns.link(self._index))
        while True:
            try:
                entries = await self._fetch()
            except Exception as exc:  # the reader must outlive any error: classify, wait, retry
                where = self._where  # before note_error() may point the inbox elsewhere
                self._conns.note_error(exc)
                fault, delay = trouble.failed(exc, where)
                if fault is Fault.PERMANENT:
                    # Nothing reaches these channels until someone fixes the setup:
                    # tell the receivers rather than leave them hanging; retry slowly.
                    self._fail_waiters(exc)
                    delay = MAX_BACKOFF
                await asyncio.sleep(delay)
                continue
            trouble.recovered()
            self._dispatch(entries)

    def _fail_waiters(self, exc: BaseException) -> None:
        error = ChannelLayerConnectionError(
            f"Redis at {self._where} cannot serve the process-local channels of "
            f"{self._inbox}: {exc}"
        )
        error.__cause__ = exc
        for box in self.mailboxes.values():
            box.fail(error)

    def _sweep(self) -> None:
        """Drop expired buffered messages and mailboxes nobody has used for a while.

        Keeps the process's state bounded by its live channels: every WebSocket
        connection gets a channel, and most are never used again once closed.
        """
        loop = asyncio.get_running_loop()
        self._sweep_timer = loop.call_later(SWEEP_INTERVAL, self._sweep)
        now, idle_since = now_ms(), time.monotonic() - self._idle_after
        for channel, box in list(self.mailboxes.items()):
            dropped = box.drop_expired(now)
            if dropped:
                self.received(channel, dropped)
                if count := self._count:
                    count.expired += dropped
            if not box.items and box.last_active < idle_since and not box.has_waiters:
                del self.mailboxes[channel]

    async def _fetch(self) -> list[bytes]:
        if self._conns.clustered:
            await self._conns.shard_indices()  # the slot table first: no MOVED to start with
        index = self._index
        if self._conn is not None and self._conn_index != index:
            await self._drop_connection()  # the inbox's slot moved to another node
        if self._conn is None:
            conn = self._conns.dedicated(index)
            try:
                await connect(conn)
            except BaseException:
                await disconnect(conn)
                raise
            self._conn, self._conn_index = conn, index
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
            except ResponseError as exc:  # OOM, BUSY...: report them again later
                self._restore(args)
                # NOSCRIPT after a restart or failover: EVAL it next time.
                self._script_missing = isinstance(exc, NoScriptError)
        try:
            popped = await conn.read_response()
        except ResponseError as exc:
            # Only a server without BLMPOP (Redis < 7) downgrades us for good;
            # any other error reply (UNBLOCKED, OOM...) is retried as it is.
            if not (self._blmpop and is_unknown_command(exc)):
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
            try:
                deadline, channel, payload = parse_entry(entry)
            except ValueError:  # not ours (or corrupted): skip it, deliver the rest
                logger.error("Skipped a malformed entry in %s: %r", self._inbox, entry[:80])
                if count := self._count:
                    count.undecodable += 1
                continue
            if deadline < now or self._cutoff.flushed(deadline):
                self.received(channel)
                if deadline < now and (count := self._count):
                    count.expired += 1
            else:
                self.mailbox(channel).put((deadline, payload))
