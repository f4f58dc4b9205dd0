"""Presence on Redis, for both Redis layers: a hash per group, kept alive by a heartbeat.

Each entry is ``channel -> "<asserted at ms>:<description>"`` in the group's
hash on the group's shard. Every process keeps its own presences in a
:class:`PresenceKeeper` per event loop (in the connections' per-loop state,
:mod:`.._transport.loops`, so it goes away with its loop) and re-asserts all of them on the group
heartbeat of :mod:`..queue.membership` (the queue layer's own heartbeat; the
pub/sub layer runs one just for this), which gives the same guarantees as
group membership:

- after Redis comes back empty, live presences are back within one heartbeat;
- an entry not re-asserted for ``timeout`` seconds belongs to a dead process:
  :meth:`RedisPresence.list` ignores and deletes it, and the hash itself expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ....exceptions import ChannelLayerConnectionError
from ...presence import PresenceInfo, decode_infos, encode_info
from .._transport.errors import RETRYABLE
from .._transport.pipe import pack
from .._transport.seam import Connections
from ..queue.membership import CLOSE_TIMEOUT
from .scripts import PRESENCE_ADD, PRESENCE_LIST, group_keys

logger = logging.getLogger("fast_channels.layers.redis")

#: The key of a loop's presences in the connections' per-loop state.
PRESENCE = "presence"


class Heartbeat(Protocol):
    """What re-asserts a loop's presences (a :class:`~..queue.membership.MembershipKeeper`)."""

    def wake(self) -> None: ...

    async def stop(self) -> None: ...


class PresenceKeeper:
    """This event loop's presences ``(group, channel) -> description``, and their refresh."""

    def __init__(self, conns: Connections, prefix: str, timeout: float) -> None:
        self._conns = conns
        self._prefix = prefix
        self._ttl = int(timeout * 1000)
        self._entries: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def add(self, group: str, channel: str, text: str) -> None:
        self._entries[(group, channel)] = text
        key = self._key(group)
        pipe = self._conns.pipe(self._conns.shard_for(group))
        await PRESENCE_ADD(pipe, [key], [0, self._ttl, channel, text])

    async def discard(self, group: str, channel: str) -> str | None:
        text = self._entries.pop((group, channel), None)
        key = self._key(group)
        await self._conns.pipe(self._conns.shard_for(group)).call(pack(b"HDEL", key, channel))
        return text

    def _key(self, group: str) -> str:
        return group_keys(self._prefix, group, self._conns.clustered).presence

    async def refresh(self) -> int:
        """Re-assert every presence of this loop: one script per shard (cluster: per slot)."""
        by_shard: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        for (group, channel), text in self._entries.items():
            keys, args = by_shard.setdefault(self._conns.route(group), ([], []))
            keys.append(self._key(group))
            args.extend((channel, text))
        results = await asyncio.gather(
            *(
                PRESENCE_ADD(self._conns.pipe(route[0]), keys, [0, self._ttl, *args])
                for route, (keys, args) in by_shard.items()
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    async def remove_all(self) -> None:
        """Delete every presence of this loop from Redis (a clean shutdown), best effort."""
        entries, self._entries = list(self._entries), {}
        calls = [
            self._conns.pipe(self._conns.shard_for(group)).call(
                pack(b"HDEL", self._key(group), channel)
            )
            for group, channel in entries
        ]
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):  # never let close() hang
                await asyncio.gather(*calls)
        except (*RETRYABLE, TimeoutError, ChannelLayerConnectionError) as exc:
            logger.info("could not remove %d presences at close: %s", len(entries), exc)


class LoopPresence:
    """One loop's presences and their heartbeat, closed with the loop's connections."""

    __slots__ = ("heartbeat", "keeper")

    def __init__(self, keeper: PresenceKeeper, heartbeat: Heartbeat) -> None:
        self.keeper = keeper
        self.heartbeat = heartbeat

    async def close(self, *, graceful: bool) -> None:
        """Stop the heartbeat; when ``graceful``, remove the presences from Redis.

        A loop that shuts down skips the round trips: its entries lapse after
        the presence timeout, like a dead process's.
        """
        await self.heartbeat.stop()  # so nothing re-asserts what is removed next
        if graceful:
            await self.keeper.remove_all()
        else:
            self.keeper.clear()


class RedisPresence:
    """The presence methods of a Redis layer, with one :class:`PresenceKeeper` per loop.

    :param attach: called with each new keeper; it must re-assert the keeper on a
        heartbeat and return that heartbeat (woken after an add, stopped at close).
    """

    def __init__(
        self,
        conns: Connections,
        prefix: str,
        *,
        timeout: float,
        attach: Callable[[PresenceKeeper], Heartbeat],
    ) -> None:
        self._conns = conns
        self._prefix = prefix
        self.timeout = timeout
        self._attach = attach

    def _local(self) -> LoopPresence:
        return self._conns.local(self._new_local, PRESENCE)

    def _new_local(self) -> LoopPresence:
        keeper = PresenceKeeper(self._conns, self._prefix, self.timeout)
        return LoopPresence(keeper, self._attach(keeper))

    async def add(self, group: str, channel: str, info: Mapping[str, Any] | None) -> str:
        """Record the presence; return its description as JSON (for the join event)."""
        text = encode_info(info)
        local = self._local()
        await local.keeper.add(group, channel, text)
        local.heartbeat.wake()
        return text

    async def discard(self, group: str, channel: str) -> str | None:
        return await self._local().keeper.discard(group, channel)

    async def list(self, group: str) -> dict[str, PresenceInfo]:
        key = group_keys(self._prefix, group, self._conns.clustered).presence
        pipe = self._conns.pipe(self._conns.shard_for(group))
        rows = await PRESENCE_LIST(pipe, [key], [int(self.timeout * 1000)])
        channels = (channel.decode() for channel in rows[0::2])
        return dict(zip(channels, decode_infos(rows[1::2]), strict=True))

    def clear(self) -> None:
        """Stop asserting this loop's presences (``flush()`` deleted them)."""
        self._local().keeper.clear()
