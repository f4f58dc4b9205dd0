"""``RedisChannelLayer``: channels as Redis lists, groups as sorted sets.

Messages wait in Redis until received or ``expiry`` passes, so they survive a
consumer that is briefly away and work across processes. How the pieces fit:

- ``send`` is one Lua script (capacity check + push) on the channel's shard;
- ``group_send`` is one script per shard however large the group: it reads the
  live members and pushes to each, skipping (and counting) full ones;
- process-local channels (``new_channel()``) of a process share one inbox,
  drained by one background reader (:mod:`.readers`) into local mailboxes;
- a heartbeat (:mod:`.membership`) keeps live channels in their groups and lets
  members of dead processes expire after ``member_timeout``.

Keys and scripts are described in :mod:`.scripts`.

Bounds (defaults), each covered by a test against a real server:

- a call to a Redis that refuses connections fails at once, one that does not
  answer fails within 10 s (:mod:`.pipe`, :mod:`.guard`), with
  ``ChannelLayerConnectionError``;
  a ``receive()`` on a process-local channel waits through the outage instead;
- after Redis comes back empty, connected consumers are in their groups again
  within ``heartbeat_interval`` (2 s) plus at most 1 s of reconnect back-off;
- members of a process that died are ignored and removed by ``group_send``
  within ``member_timeout`` (10 s) of its last heartbeat;
- a received message stops counting against capacity within 5 ms.

From synchronous code use :meth:`~.._sync.SyncSendLayer.send_sync`, or
``asyncio.run(layer.send(...))`` / asgiref's ``async_to_sync``: a loop that
shuts down releases its connections (see :mod:`.._transport.loops`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from ....exceptions import ChannelFull
from ...capacity import Pattern
from ...history import HistoryPolicy
from ...naming import (
    is_process_local,
    require_valid_channel_name,
    require_valid_group_name,
    require_valid_message,
)
from .._group_state.history import PositionedSerializer, RedisHistory
from .._group_state.methods import RedisGroupState
from .._group_state.presence import PresenceKeeper, RedisPresence
from .._sync import SyncSendLayer
from .._transport.pipe import pack
from .._transport.scan import delete_matching
from .._transport.seam import build_connections
from .._transport.tasks import now_ms
from ..serializers import Serializer, build_serializer, decode_or_skip
from . import guard
from .fanout import push_to_members
from .guard import QUEUE_CONNECTION_DEFAULTS
from .history import group_send_kept
from .loop_state import LoopState
from .membership import MembershipKeeper
from .scripts import GROUP_ADD, GROUP_MEMBERS, GROUP_SEND, SEND, group_key, queue_keys

logger = logging.getLogger("fast_channels.layers.redis")


class RedisChannelLayer(SyncSendLayer, RedisGroupState):
    """Channel layer storing messages in Redis lists (see the module docs).

    :param hosts: Redis servers: URLs (``redis://``, ``rediss://``, ``unix://``),
        ``(host, port)`` tuples or dicts of client options; several shard
        channels and groups. Defaults to ``redis://localhost:6379``.
    :param prefix: namespace of every key (letters, digits, ``-_.``).
    :param expiry: seconds a message waits before it is dropped undelivered.
    :param group_expiry: seconds a membership lasts unless re-added. Members that
        are process-local channels of a running process are kept while live.
    :param capacity: messages a channel holds before ``send`` raises ``ChannelFull``.
    :param channel_capacity: ``{glob or compiled regex: capacity}`` per channel.
    :param symmetric_encryption_keys: Fernet keys; the first encrypts, all decrypt.
    :param serializer: ``"msgpack"`` (default), ``"json"`` or an object with
        ``dumps``/``loads`` (:class:`~.serializers.Serializer`).
    :param sentinels: ``[(host, port), ...]`` of Redis Sentinels, with
        ``service_name`` (the monitored master) and optional ``sentinel_kwargs``.
    :param connection_kwargs: ``redis.asyncio.Redis`` options for every server.
    :param cluster_nodes: seed nodes of a Redis Cluster (URLs or ``(host, port)``
        tuples; any few nodes will do, the rest is discovered). Not together with
        ``hosts`` or ``sentinels``. Keys get hash tags so each script touches one
        slot; ``group_send`` costs one round trip per node holding members.
    :param heartbeat_interval: seconds between re-assertions of this process's
        memberships; groups heal within this time after Redis comes back empty.
    :param member_timeout: seconds after which members of a process that stopped
        its heartbeat (it died) are ignored and removed by ``group_send``; its
        presences end after the same time.
    :param group_history: groups that keep history, ``{glob or compiled regex:
        (size, seconds)}``; storing and fanning out is one script per shard
        (see :mod:`fast_channels.layers.history`).

    When Redis misbehaves (each case tested against real servers):

    - calls (``send``, ``group_*``, a named ``receive()``) to a Redis that is
      down or silent raise ``ChannelLayerConnectionError`` (at once / within
      10 s); a process-local ``receive()`` waits and resumes by itself;
    - background readers never stop before ``close()``: connection loss,
      failover (``UNBLOCKED``, ``READONLY``, ``MASTERDOWN``, ``LOADING``: the
      connection is replaced, so Sentinel is asked for the new master) and
      error replies such as ``OOM`` or ``BUSY`` are retried with a capped
      back-off; a named ``receive()`` rides out a failover (on a cluster, also a
      master that went away) for up to 10 s, then raises
      ``ChannelLayerConnectionError``. ``NOPERM``/``WRONGTYPE`` are
      logged once and make waiting receives raise that error;
    - a message that cannot be decoded (another serializer or key) or a
      malformed entry is logged with its channel and skipped; the rest arrive;
    - a count left high by a lost receipt stops blocking ``send`` once the
      newest message it counted has expired (``expiry``);
    - a cancelled named ``receive()`` loses nothing: a message already popped
      for it goes to another receiver, here or in another process;
    - membership uses the Redis server's clock, so clock skew between
      application hosts does not drop live members.
    """

    extensions = ("groups", "flush")

    def __init__(
        self,
        hosts: Sequence[Any] | str | None = None,
        prefix: str = "asgi",
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: Mapping[Pattern, int] | None = None,
        symmetric_encryption_keys: Sequence[str | bytes] | None = None,
        serializer: str | Serializer = "msgpack",
        sentinels: Sequence[tuple[str, int]] | None = None,
        service_name: str | None = None,
        sentinel_kwargs: Mapping[str, Any] | None = None,
        connection_kwargs: Mapping[str, Any] | None = None,
        *,
        heartbeat_interval: float = 2.0,
        member_timeout: float = 10.0,
        group_history: Mapping[Pattern, tuple[int, float]] | None = None,
        cluster_nodes: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        require_valid_group_name(prefix)  # same rule as names: no ':' or glob characters
        if group_expiry <= 0 or heartbeat_interval <= 0 or member_timeout <= 0:
            raise ValueError("group_expiry, heartbeat_interval and member_timeout must be > 0")
        self.prefix = prefix
        self.group_expiry = group_expiry
        self._conns = build_connections(
            hosts,
            cluster_nodes=cluster_nodes,
            sentinels=sentinels,
            service_name=service_name,
            sentinel_kwargs=sentinel_kwargs,
            connection_kwargs={**QUEUE_CONNECTION_DEFAULTS, **(connection_kwargs or {})},
            reply_timeout=guard.COMMAND_TIMEOUT,
        )
        self._conns.metrics = self.metrics
        self._serializer = PositionedSerializer(
            build_serializer(serializer, symmetric_encryption_keys)
        )
        self._has_patterns = bool(channel_capacity)
        #: group_send in one script: members' queues are on the group's server, and
        #: one capacity fits all (with several shards or a cluster they are not).
        self._one_script = (
            not self._conns.clustered and self._conns.shard_count == 1 and not channel_capacity
        )
        # A live member is re-asserted well within the window it must be seen in.
        self.member_timeout = min(member_timeout, group_expiry)
        self.heartbeat_interval = min(heartbeat_interval, self.member_timeout / 3)
        timeouts = [float(h.options.get("socket_timeout") or 0) for h in self._conns.hosts]
        shortest = min([t for t in timeouts if t > 0] or [guard.COMMAND_TIMEOUT])
        self._block = max(0.1, min(5.0, shortest / 2))  # a blocking pop must beat the timeout
        self.history_policy = HistoryPolicy(group_history)
        self._history = RedisHistory(self._conns, prefix, self.history_policy, self._serializer)
        self._presence = RedisPresence(
            self._conns, prefix, timeout=self.member_timeout, attach=self._attach_presence
        )

    def _group_key(self, group: str) -> str:
        return group_key(self.prefix, group, self._conns.clustered)

    def _state(self) -> LoopState:
        """This loop's readers and memberships (closed with the loop's connections)."""
        return self._conns.local(self._new_state)

    def _new_state(self) -> LoopState:
        return LoopState(
            self._conns,
            self.prefix,
            block=self._block,
            expiry=self.expiry,
            group_expiry=self.group_expiry,
            heartbeat_interval=self.heartbeat_interval,
            member_timeout=self.member_timeout,
            capacity=self.get_capacity,
        )

    # Point to point -----------------------------------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        require_valid_channel_name(channel)
        require_valid_message(message)
        payload = self._serializer.dumps(message)
        now = now_ms()
        entry = b"%d:%s:%s" % (now + int(self.expiry * 1000), channel.encode(), payload)
        list_key, count_key = queue_keys(self.prefix, channel, self._conns.clustered)
        index = self._conns.shard_for(list_key)
        capacity = self.get_capacity(channel)
        args = (entry, capacity, int(self.expiry * 1000), channel)
        keys = (list_key, count_key) if count_key else (list_key,)
        pushed = await SEND(self._conns.pipe(index), keys, args)
        count = self._count
        if not pushed:
            if count:
                count.channel_full += 1
            raise ChannelFull(
                f"Channel {channel!r} already holds {capacity} messages: nothing was sent. "
                "Make sure a consumer reads it, or raise capacity/channel_capacity."
            )
        if count:
            count.sent += 1

    async def receive(self, channel: str) -> dict[str, Any]:
        require_valid_channel_name(channel)
        state = self._state()
        if is_process_local(channel):
            reader = state.inbox_for(channel)
            while True:
                deadline, payload = await reader.mailbox(channel).get()
                reader.received(channel)
                if message := self._accept(deadline, channel, payload):
                    return message
        named = state.named_for(channel)
        try:
            while True:
                if not named.mailbox.items:
                    named.start()
                deadline, payload = await named.mailbox.get()
                if message := self._accept(deadline, channel, payload):
                    return message
        except asyncio.CancelledError:
            named.release()  # what was popped for us goes to another receiver
            raise

    def _decode(self, channel: str, payload: bytes) -> dict[str, Any] | None:
        return decode_or_skip(self._serializer, channel, payload)

    def _accept(self, deadline: int, channel: str, payload: bytes) -> dict[str, Any] | None:
        """The message to return, or None (counted) if it expired or cannot be decoded."""
        count = self._count
        if deadline < now_ms():
            if count:
                count.expired += 1
            return None
        message = decode_or_skip(self._serializer, channel, payload)
        if count:
            if message is None:
                count.undecodable += 1
            else:
                count.received += 1
        return message

    async def new_channel(self, prefix: str = "specific") -> str:
        state = self._state()
        name = require_valid_channel_name(f"{prefix}.{state.token}!{secrets.token_hex(8)}")
        state.inbox_for(name)  # start reading before anyone can send to it
        return name

    # Groups -------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        index = self._conns.shard_for(group)
        args = (int(self.group_expiry * 1000), channel)
        await GROUP_ADD(self._conns.pipe(index), [self._group_key(group)], args)
        if is_process_local(channel):
            self._state().members.add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        if is_process_local(channel):
            self._state().members.discard(group, channel)
        index = self._conns.shard_for(group)
        await self._conns.pipe(index).call(pack(b"ZREM", self._group_key(group), channel))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        require_valid_group_name(group)
        require_valid_message(message)
        payload = self._serializer.dumps(message)
        # Scripts compare membership against the server's clock (TIME), never ours.
        ttls = (int(self.group_expiry * 1000), int(self.member_timeout * 1000))
        deadline = now_ms() + int(self.expiry * 1000)
        index = self._conns.shard_for(group)
        key = self._group_key(group)
        limits = self.history_policy(group) if self.history_policy else None
        if limits is not None:  # a resumable group: see .history
            reached, skipped = await group_send_kept(self, group, limits, payload, now_ms())
        elif self._one_script:
            args = (*ttls, self.prefix, self.capacity, int(self.expiry * 1000), deadline)
            reached, skipped = await GROUP_SEND(self._conns.pipe(index), [key], (*args, payload))
        else:
            joined = await GROUP_MEMBERS(self._conns.pipe(index), [key], ttls)
            members = joined.split(b"\n") if joined else []
            reached = len(members)
            skipped = await self._push_many(members, deadline, payload)
        if count := self._count:
            count.group_sends += 1
            count.group_deliveries += int(reached) - int(skipped)
            count.channel_full += int(skipped)
        if skipped:
            self.dropped_messages += skipped
            total = self.dropped_messages
            self.metrics.dropped(  # rate-limited: see fast_channels.metrics.events
                int(skipped),
                lambda n: (
                    f"group_send to {group!r} skipped {skipped} full member channel(s); "
                    f"dropped_messages={total}"
                ),
                logger,
            )

    async def _push_many(self, members: list[bytes], deadline: int, payload: bytes) -> int:
        """Push to members spread over shards or slots (see :mod:`.fanout`)."""
        head = (int(self.expiry * 1000), deadline, payload)
        uniform = None if self._has_patterns else self.capacity
        return await push_to_members(
            self._conns, self.prefix, members, self.get_capacity, uniform, head
        )

    # Lifecycle ----------------------------------------------------------------------

    async def flush(self) -> None:
        """Delete every key under this layer's prefix, and forget local state."""
        state = self._state()
        state.forget_messages()
        self._presence.clear()
        for index in await self._conns.shard_indices():
            await delete_matching(self._conns, index, f"{self.prefix}:*")

    async def release_channel(self, channel: str) -> None:
        """Forget process-local ``channel`` now: its local buffer and its groups.

        Messages still waiting for it expire in Redis as usual.
        """
        require_valid_channel_name(channel)
        if not is_process_local(channel):
            return  # named channels keep no per-channel state here
        for group in self._state().release(channel):
            index = self._conns.shard_for(group)
            await self._conns.pipe(index).call(pack(b"ZREM", self._group_key(group), channel))

    async def close(self) -> None:
        """Stop this event loop's readers and heartbeat, leave groups, close connections.

        Other event loops keep theirs; a loop that shuts down (``asyncio.run()``
        returning) releases its own. The layer can be used again afterwards
        (it reconnects on first use).
        """
        await self._conns.close()  # presences too: they are per-loop state

    # Presence and history (see .._group_state) --------------------------------------

    def _attach_presence(self, keeper: PresenceKeeper) -> MembershipKeeper:
        # Presence heals on the group heartbeat: one heartbeat per process.
        members = self._state().members
        members.attach(keeper)
        return members
