"""Group memberships of process-local channels, kept alive by a heartbeat.

A membership's score in Redis is the last time it was asserted. Every
``interval`` seconds, each process re-asserts the memberships of its own live
channels (one script per shard), which gives three guarantees:

- after Redis comes back empty (restart without persistence, failover to a
  replica that missed writes), connected consumers are back in their groups
  within ``interval`` seconds of Redis answering again;
- a connection that lives longer than ``group_expiry`` never falls out of its
  groups;
- ``group_send`` ignores (and deletes) process-local members not asserted for
  ``member_timeout`` seconds, so members of a dead process vanish after that.

A channel is live while a ``receive()`` waits on it or ran recently; a
membership of a channel nobody reads is still kept for ``group_expiry``.

Other per-process state that must heal the same way (presence) is
:meth:`~MembershipKeeper.attach`-ed and re-asserted on this same heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from ....exceptions import ChannelLayerConnectionError
from ....metrics.heartbeat import HeartbeatMetrics
from .._transport.errors import RETRYABLE
from .._transport.faults import BACKOFF, Fault, Trouble, classify
from .._transport.pipe import pack
from .._transport.seam import Connections
from .._transport.tasks import cancel_and_wait
from .guard import COMMAND_TIMEOUT
from .scripts import GROUP_ADD, group_key

logger = logging.getLogger("fast_channels.layers.redis")
#: Seconds ``close()`` spends removing this process's memberships before giving up.
CLOSE_TIMEOUT = 2.0


class Refreshable(Protocol):
    """State re-asserted on the heartbeat alongside memberships (see ``attach``)."""

    def __len__(self) -> int: ...

    async def refresh(self) -> int: ...


class MembershipKeeper:
    """This process's (group, process-local channel) memberships and their heartbeat."""

    def __init__(
        self,
        conns: Connections,
        prefix: str,
        *,
        group_expiry: float,
        interval: float,
        is_live: Callable[[str], bool],
    ) -> None:
        self._conns = conns
        self._prefix = prefix
        self._group_expiry = group_expiry
        self.interval = interval
        self._is_live = is_live
        self._added: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._attached: list[Refreshable] = []
        self._heals = HeartbeatMetrics(conns.metrics)

    def __len__(self) -> int:
        return len(self._added)

    def _key(self, group: str) -> str:
        return group_key(self._prefix, group, self._conns.clustered)

    def add(self, group: str, channel: str) -> None:
        self._added[(group, channel)] = time.monotonic()
        self.wake()

    def attach(self, other: Refreshable) -> None:
        """Re-assert ``other`` on this heartbeat too, while it is not empty."""
        self._attached.append(other)

    def wake(self) -> None:
        """Start the heartbeat if it is not running (it stops when nothing is left)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="fast-channels group heartbeat")

    def discard(self, group: str, channel: str) -> None:
        self._added.pop((group, channel), None)

    def forget(self, channel: str) -> list[str]:
        """Stop asserting every membership of ``channel``; return its groups."""
        groups = [group for group, member in self._added if member == channel]
        for group in groups:
            del self._added[(group, channel)]
        return groups

    def clear(self) -> None:
        self._added.clear()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        # Every failure is classified (see .faults): anything but a permanent
        # error is retried soon (capped back-off, at most the interval) rather
        # than a whole interval later, so a failover or an OOM spike of a second
        # or two does not eat into member_timeout several intervals deep; a
        # permanent one (NOPERM, WRONGTYPE) is logged once and retried each
        # interval. The heartbeat never ends on an error: if it did, every
        # membership of this process would lapse member_timeout later.
        trouble = Trouble(logger, "group heartbeat")
        failures = 0
        delay = self.interval
        while self._added or any(len(other) for other in self._attached):
            await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):  # a silent Redis must not stall it
                    reasserted = await self.refresh()
            except Exception as exc:
                self._conns.note_error(exc)
                failures += 1
                fault = classify(exc)
                if fault is Fault.CONNECTION:  # the inbox reader reports outages
                    logger.debug("group heartbeat failed, retrying: %s", exc)
                else:
                    trouble.failed(exc, self._where)
                delay = (
                    self.interval
                    if fault is Fault.PERMANENT
                    else min(BACKOFF.compute(failures), self.interval)
                )
            else:
                self._heals.beat(reasserted, failed=failures > 0)
                trouble.recovered()
                failures = 0
                delay = self.interval

    @property
    def _where(self) -> str:
        hosts = self._conns.hosts
        return hosts[0].describe() if len(hosts) == 1 else f"one of {len(hosts)} shards"

    def _current(self) -> list[tuple[str, str]]:
        now = time.monotonic()
        stale = [
            pair
            for pair, added in self._added.items()
            if now - added >= self._group_expiry and not self._is_live(pair[1])
        ]
        for pair in stale:  # expired like any membership: stop asserting it
            del self._added[pair]
        return list(self._added)

    async def refresh(self) -> int:
        """Re-assert every current membership now; return how many."""
        # One script per shard; on a cluster per slot (a script touches one slot).
        by_shard: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        pairs = self._current()
        for group, channel in pairs:
            keys, channels = by_shard.setdefault(self._conns.route(group), ([], []))
            keys.append(self._key(group))
            channels.append(channel)
        ttl = int(self._group_expiry * 1000)  # scored by the server's clock
        batches = list(by_shard.items())
        results = await asyncio.gather(
            *(
                GROUP_ADD(self._conns.pipe(route[0]), keys, [ttl, *channels])
                for route, (keys, channels) in batches
            ),
            return_exceptions=True,
        )
        failed: BaseException | None = None
        for (route, (keys, channels)), result in zip(batches, results, strict=True):
            if isinstance(result, BaseException):
                error: BaseException | None = result
                if len(keys) > 1 and classify(result) is Fault.PERMANENT:
                    # One foreign key (WRONGTYPE) must not cost every other group
                    # of the shard its memberships: assert them one by one.
                    error = await self._one_by_one(route[0], keys, channels, ttl)
                failed = failed or error
        if failed is not None:
            raise failed  # after every other shard and group was re-asserted
        for other in self._attached:
            await other.refresh()
        return len(pairs)

    async def _one_by_one(
        self, index: int, keys: list[str], channels: list[str], ttl: int
    ) -> BaseException | None:
        """Re-assert each membership with its own script; return the first failure."""
        pipe = self._conns.pipe(index)
        results = await asyncio.gather(
            *(
                GROUP_ADD(pipe, [key], [ttl, channel])
                for key, channel in zip(keys, channels, strict=True)
            ),
            return_exceptions=True,
        )
        return next((r for r in results if isinstance(r, BaseException)), None)

    async def leave_all(self) -> None:
        """Remove every membership from Redis (a clean shutdown), best effort."""
        by_shard: dict[int, list[tuple[str, str]]] = {}
        for group, channel in self._added:
            by_shard.setdefault(self._conns.shard_for(group), []).append((group, channel))
        self._added.clear()
        for index, pairs in by_shard.items():
            pipe = self._conns.pipe(index)
            removals = [pipe.call(pack(b"ZREM", self._key(g), c)) for g, c in pairs]
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):  # never let close() hang
                    await asyncio.gather(*removals)  # pipelined: one write, one read burst
            except (*RETRYABLE, TimeoutError, ChannelLayerConnectionError) as exc:
                logger.info("could not remove %d memberships at close: %s", len(pairs), exc)
