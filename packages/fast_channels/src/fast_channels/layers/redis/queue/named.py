"""The reader of a named channel: a work queue several processes may share.

While ``receive()`` calls wait on a named channel, one task pops its list, one
message per waiting receiver, so other processes get the rest. What it does
when things go wrong:

- Redis refuses or stops answering: every waiting ``receive()`` fails at once
  with :class:`~fast_channels.exceptions.ChannelLayerConnectionError` (the
  documented outage behaviour of calls);
- the master is demoted or still loading (``UNBLOCKED``, ``READONLY``,
  ``MASTERDOWN``, ``LOADING``), or an error reply such as ``OOM``/``BUSY``:
  the reader drops its idle pool connections (a new one asks Sentinel for the
  current master), retries with back-off and fails the waiters only if that
  lasts longer than ``COMMAND_TIMEOUT``;
- ``NOPERM``/``WRONGTYPE``: the waiters fail at once with a clear error;
- a receiver that gave up (cancelled, ``wait_for`` timed out) after its
  message was popped: the message goes to another receiver of this process,
  or back to the head of the list for another process's receiver.
"""

from __future__ import annotations

import asyncio
import logging

from ....exceptions import ChannelLayerConnectionError
from .._transport.faults import Fault, Trouble
from .._transport.seam import Connections
from .._transport.tasks import cancel_and_wait, now_ms
from .guard import COMMAND_TIMEOUT, guarded
from .mailbox import FlushCutoff, Mailbox
from .scripts import GIVE_BACK, parse_entry

logger = logging.getLogger("fast_channels.layers.redis")


class NamedReader:
    """Pop a named channel's list, one message per waiting receiver."""

    def __init__(
        self,
        conns: Connections,
        key: str,
        channel: str,
        *,
        block: float,
        cutoff: FlushCutoff,
    ) -> None:
        self._conns = conns
        self._key = key
        self._channel = channel
        self._block = block
        self._cutoff = cutoff
        self.mailbox = Mailbox()
        self._task: asyncio.Task[None] | None = None

    @property
    def _index(self) -> int:
        # Asked each time: on a cluster the channel's slot may move to another node.
        return self._conns.shard_for(self._key)

    @property
    def idle(self) -> bool:
        """Nothing runs, waits or is buffered: the reader may be forgotten."""
        box = self.mailbox
        return (self._task is None or self._task.done()) and not box.items and not box.has_waiters

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"fast-channels reader {self._key}")

    def release(self) -> None:
        """A receiver gave up: return what nobody here waits for (see :meth:`_give_back`)."""
        if self.mailbox.items and not self.mailbox.has_waiters:
            self.start()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self.mailbox.fail(ChannelLayerConnectionError("the channel layer was closed"))

    async def _run(self) -> None:
        while True:
            await self._pop_for_waiters()
            await self._give_back()
            if not self.mailbox.has_waiters:  # no await between this check and the end
                return

    async def _pop_for_waiters(self) -> None:
        trouble = Trouble(logger, f"reader of named channel {self._channel!r}")
        loop = asyncio.get_running_loop()
        failing_since = failover_since = 0.0
        while self.mailbox.has_waiters:
            where = self._conns.hosts[self._index].describe()
            try:
                if self._conns.clustered:  # the slot table first: no MOVED to start with
                    await self._conns.shard_indices()
                index = self._index
                client = self._conns.client(index)
                where = self._conns.hosts[index].describe()
                async with guarded(self._conns, index, self._block + COMMAND_TIMEOUT):
                    popped = await client.brpop([self._key], timeout=self._block)  # type: ignore[misc, arg-type]  # sync-or-async stub; float seconds are fine
            except Exception as exc:  # the reader must not die: each kind has its answer
                self._conns.note_error(exc)
                fault, delay = trouble.failed(exc, where)
                now = loop.time()
                failing_since = failing_since or now
                # On a cluster a node that went away is a failover in progress: its
                # replica takes the slot over within seconds (cluster-node-timeout).
                if fault is Fault.FAILOVER or (fault is Fault.CONNECTION and self._conns.clustered):
                    failover_since = failover_since or now
                    # Idle connections may point at the demoted master: new ones ask again.
                    await client.connection_pool.disconnect(inuse_connections=False)
                # Connection failures fail at once, except in a failover we are riding out.
                hopeless = fault is Fault.PERMANENT or (
                    fault is Fault.CONNECTION and not failover_since
                )
                if hopeless or now - failing_since > COMMAND_TIMEOUT:
                    self.mailbox.fail(self._error(where, exc))
                    return
                await asyncio.sleep(delay)
                continue
            failing_since = failover_since = 0.0
            trouble.recovered()
            if popped:
                try:
                    deadline, _, payload = parse_entry(popped[1])
                except ValueError:
                    logger.error(
                        "Skipped a malformed entry of channel %r: %r", self._channel, popped[1][:80]
                    )
                    if (metrics := self._conns.metrics) and (count := metrics.counts):
                        count.undecodable += 1
                    continue
                if not self._cutoff.flushed(deadline):
                    self.mailbox.put((deadline, payload))

    def _error(self, where: str, exc: BaseException) -> ChannelLayerConnectionError:
        if isinstance(exc, ChannelLayerConnectionError):
            return exc
        error = ChannelLayerConnectionError(
            f"Redis at {where} cannot serve named channel {self._channel!r}: {exc}"
        )
        error.__cause__ = exc
        return error

    async def _give_back(self) -> None:
        """Push entries popped for receivers that gave up back to the list's head.

        If Redis refuses them they stay here for this process's next receiver.
        """
        box = self.mailbox
        while box.items and not box.has_waiters:
            now = now_ms()
            items = [item for item in box.items if item[0] >= now]  # expired: drop
            box.items.clear()
            if not items:
                return
            channel = self._channel.encode()
            newest_first = [b"%d:%s:%s" % (d, channel, p) for d, p in reversed(items)]
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    pipe = self._conns.pipe(self._index)
                    await GIVE_BACK(pipe, [self._key], [self._cutoff.expiry_ms, *newest_first])
            except Exception as exc:
                box.items.extendleft(reversed(items))
                logger.warning(
                    "Could not return %d message(s) of %r to Redis (%s); kept for this process",
                    len(items),
                    self._channel,
                    exc,
                )
                return
