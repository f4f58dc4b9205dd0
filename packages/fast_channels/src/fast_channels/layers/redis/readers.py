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
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...exceptions import ChannelLayerConnectionError
from .connections import RedisConnections
from .mailbox import Mailbox, cancel_and_wait, now_ms
from .scripts import UNCOUNT, parse_entry

logger = logging.getLogger("fast_channels.layers.redis")

#: Errors after which a reader waits and tries again (failover shows ReadOnlyError).
RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError, ReadOnlyError)
#: Entries fetched per round trip after the blocking pop.
BATCH = 500
MAX_BACKOFF = 1.0


class FlushCutoff:
    """Drops messages sent before the last ``flush()`` that were already in flight."""

    def __init__(self, expiry_ms: int) -> None:
        self.expiry_ms = expiry_ms
        self.at = 0

    def flushed(self, deadline: int) -> bool:
        return deadline - self.expiry_ms < self.at


class InboxReader:
    """Drain one inbox list into per-channel mailboxes; reconnect forever."""

    def __init__(
        self,
        conns: RedisConnections,
        index: int,
        inbox_key: str,
        count_key: str,
        *,
        block: float,
        cutoff: FlushCutoff,
    ) -> None:
        self._conns = conns
        self._index = index
        self._inbox = inbox_key
        self._count_key = count_key
        self._block = block
        self._cutoff = cutoff
        self.mailboxes: dict[str, Mailbox] = {}
        self._received: dict[str, int] = {}
        self._next_fetch_reports = False
        self._task: asyncio.Task[None] | None = None
        self._report_task: asyncio.Task[None] | None = None
        self._uncount_failed = False
        self.outage = False

    def mailbox(self, channel: str) -> Mailbox:
        box = self.mailboxes.get(channel)
        if box is None:
            box = self.mailboxes[channel] = Mailbox()
        return box

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(
                self._run(), name=f"fast-channels reader {self._inbox}"
            )

    def received(self, channel: str, count: int = 1) -> None:
        """Record that ``count`` messages of ``channel`` left the queue (read or expired)."""
        self._received[channel] = self._received.get(channel, 0) + count
        if self._next_fetch_reports:
            return  # the reader's next round trip carries it at no extra cost
        if self._report_task is None or self._report_task.done():
            self._report_task = asyncio.create_task(self._report())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await cancel_and_wait(self._report_task)
        error = ChannelLayerConnectionError("the channel layer was closed")
        for box in self.mailboxes.values():
            box.fail(error)

    def _take_received(self) -> list[str | int]:
        args: list[str | int] = []
        for channel, count in self._received.items():
            args += (channel, count)
        self._received.clear()
        return args

    def _restore(self, args: list[str | int]) -> None:
        for i in range(0, len(args), 2):
            channel, count = str(args[i]), int(args[i + 1])
            self._received[channel] = self._received.get(channel, 0) + count

    async def _report(self) -> None:
        await asyncio.sleep(0)  # gather what this loop iteration received
        args = self._take_received()
        if not args:
            return
        try:
            await UNCOUNT(self._conns.client(self._index), [self._count_key], args)
        except RETRYABLE:
            self._restore(args)  # sent with the reader's next round trip

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                entries = await self._fetch()
            except RETRYABLE as exc:
                if not self.outage:
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
            await asyncio.sleep(0)  # let woken receivers record what they took

    async def _fetch(self) -> list[bytes]:
        client = self._conns.client(self._index)
        args = self._take_received()
        self._next_fetch_reports = False
        if args and self._uncount_failed:
            # Not pipelined: Script falls back to EVAL, which reloads a lost script.
            try:
                await UNCOUNT(client, [self._count_key], args)
            except BaseException:
                self._restore(args)
                raise
            self._uncount_failed = False
            args = []
        pipe = client.pipeline(transaction=False)
        if args:
            UNCOUNT.queue(pipe, [self._count_key], args)
        pipe.brpop([self._inbox], timeout=self._block)  # type: ignore[arg-type]  # Redis takes float seconds
        pipe.rpop(self._inbox, BATCH)
        try:
            results: list[Any] = await pipe.execute(raise_on_error=False)
        except BaseException:
            self._restore(args)
            raise
        if args and isinstance(results[0], Exception):  # e.g. NOSCRIPT after a restart
            self._restore(args)
            self._uncount_failed = True
        popped, more = results[-2], results[-1]
        for result in (popped, more):
            if isinstance(result, Exception):
                raise result
        entries = [popped[1]] if popped else []
        if more:
            entries += more
        return entries

    def _dispatch(self, entries: list[bytes]) -> None:
        self._next_fetch_reports = True
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
                async with self._conns.errors(self._index):
                    popped = await client.brpop([self._key], timeout=self._block)  # type: ignore[misc, arg-type]  # sync-or-async stub; float seconds are fine
            except ChannelLayerConnectionError as exc:
                self.mailbox.fail(exc)  # a receive() during an outage fails fast
                return
            if popped:
                deadline, _, payload = parse_entry(popped[1])
                if not self._cutoff.flushed(deadline):
                    self.mailbox.put((deadline, payload))
