"""The Redis pub/sub channel layer: lowest latency, nothing stored.

``send`` and ``group_send`` are one PUBLISH each, whatever the group size.
Each process subscribes to the channels it receives on and the groups its
channels belong to, over one shared connection per shard, and buffers
incoming messages per local channel. A message to a channel or group nobody
is subscribed to at that moment is gone: choose
:class:`~fast_channels.layers.redis.RedisChannelLayer` when messages must
wait for a consumer that is not listening yet (jobs, workers, retries).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from ...capacity import Pattern
from ...history import HistoryPolicy
from ...naming import require_valid_channel_name, require_valid_group_name, require_valid_message
from .._group_state.history import PositionedSerializer, RedisHistory
from .._group_state.methods import RedisGroupState
from .._group_state.presence import RedisPresence
from .._sync import SyncSendLayer
from .._transport.callbacks import Callback
from .._transport.connections import RedisConnections
from .._transport.pipe import pack_publish, pack_spublish
from .._transport.seam import build_connections
from ..serializers import Serializer, build_serializer
from .inbox import Inbox
from .presence import PresenceHeartbeat, delete_stored
from .subscriptions import LoopSubscriptions

logger = logging.getLogger(__name__)

#: Seconds a PUBLISH may wait for its reply before the connection is dropped.
PUBLISH_TIMEOUT = 5.0

_REFUSED = {
    "expiry": "pub/sub stores nothing, so no message can expire; messages are delivered "
    "at once or not at all",
    "group_expiry": "a group membership here is a live subscription that lasts until "
    "group_discard() or close(), so it cannot expire",
}


class RedisPubSubChannelLayer(SyncSendLayer, RedisGroupState):
    """Channel layer over Redis PUBLISH/SUBSCRIBE.

    :param hosts: Redis servers (URLs, ``(host, port)`` tuples or dicts); several
        shard channels and groups by a stable hash. Default ``redis://localhost:6379``.
    :param prefix: namespace of this layer's Redis channels; layers with
        different prefixes never see each other's messages.
    :param capacity: messages each local channel buffers while nobody is
        receiving. When full, the **oldest** buffered message is dropped (for
        real-time data the newest matters most), counted in
        :attr:`dropped_messages` and reported by a warning at most every 10 s.
        Memory stays bounded however slow a consumer is. ``send`` never
        raises ``ChannelFull``: the receiver's buffer lives in another process.
    :param channel_capacity: per-channel buffer sizes, ``{glob or regex: capacity}``.
    :param symmetric_encryption_keys: Fernet-encrypt payloads (first key
        encrypts, every key decrypts).
    :param serializer: ``"msgpack"`` (default), ``"json"`` or an object with
        ``dumps``/``loads``.
    :param sentinels: ``[(host, port), ...]`` with ``service_name`` (and optional
        ``sentinel_kwargs``) for one Sentinel-managed server.
    :param connection_kwargs: extra ``redis.asyncio`` options for every server.
    :param cluster_nodes: seed nodes of a Redis Cluster (7.0 or newer: URLs or
        ``(host, port)`` tuples); not together with ``hosts`` or ``sentinels``.
        Uses sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``): a message goes only to
        the node serving its channel, and subscriptions follow a slot that moves.
    :param on_disconnect: called (no arguments; sync or async) when a shard's
        subscriber connection is lost.
    :param on_reconnect: called once that connection is back and every channel
        and group is subscribed again. Messages published in between are lost,
        except in resumable groups, whose members can recover them from history.
    :param group_history: groups that keep history, ``{glob or compiled regex:
        (size, seconds)}``: each message to such a group is stored in a capped
        stream and published in one script, so even a message published while
        nobody was subscribed can be recovered (see :mod:`fast_channels.layers.history`).

    ``expiry`` and ``group_expiry`` are refused with ``TypeError``: nothing is
    stored, so there is nothing to expire. Use ``RedisChannelLayer`` for that.

    A local channel whose ``receive()`` was cancelled (its consumer went away)
    and is not received on again within :attr:`release_after` seconds is
    unsubscribed and leaves its groups, so abandoned channels do not pile up.
    Any other local channel stays subscribed until :meth:`release_channel` (which
    consumers call when they stop) or ``close()``: nothing here expires.

    Messages keep their order per shard: with several hosts, a channel's direct
    messages and its groups' messages may travel through different servers.
    While Redis is unreachable, ``send``/``group_send`` raise
    :class:`~fast_channels.exceptions.ChannelLayerConnectionError` at once
    (after ~5 s if the server is frozen rather than gone), and so do
    ``new_channel``/``group_add``, which must subscribe. ``close()`` makes a
    pending ``receive()`` raise that error too; otherwise it waits through an
    outage. The subscriber reconnects by itself (after a failover reply such
    as ``READONLY`` too, asking Sentinel again; each sentinel gets 1 s), and
    moves its publisher and subscriber off a server that became a replica
    within :attr:`role_check_interval` (a plain ``REPLICAOF`` behind a
    failover address, which PUBLISH and SUBSCRIBE would not notice); an
    error reply to one subscribe (``NOPERM``) fails that call only, after
    5 s. A message that does not decode is logged with its channel and skipped.
    """

    #: Seconds an abandoned channel keeps its subscription (see class docstring).
    release_after: float = 30.0
    #: Seconds between re-assertions of this process's presences (healing after
    #: Redis comes back empty takes at most this long).
    presence_interval: float = 2.0
    #: Seconds after which presences of a process that died are ignored.
    presence_timeout: float = 10.0
    #: Seconds between checks that each server is still a primary (PUBLISH and
    #: SUBSCRIBE work on a demoted one, so nothing else would notice a plain
    #: ``REPLICAOF`` behind a failover address); read when the layer is built.
    role_check_interval: float = 5.0

    def __init__(
        self,
        hosts: Sequence[Any] | str | None = None,
        prefix: str = "asgi",
        capacity: int = 100,
        channel_capacity: Mapping[Pattern, int] | None = None,
        symmetric_encryption_keys: Sequence[str | bytes] | None = None,
        serializer: str | Serializer = "msgpack",
        sentinels: Sequence[tuple[str, int]] | None = None,
        service_name: str | None = None,
        sentinel_kwargs: Mapping[str, Any] | None = None,
        connection_kwargs: Mapping[str, Any] | None = None,
        on_disconnect: Callback | None = None,
        on_reconnect: Callback | None = None,
        group_history: Mapping[Pattern, tuple[int, float]] | None = None,
        cluster_nodes: Sequence[Any] | None = None,
        **unsupported: Any,
    ) -> None:
        for name in unsupported:
            reason = _REFUSED.get(name)
            if reason is None:
                raise TypeError(f"RedisPubSubChannelLayer got an unexpected argument {name!r}")
            raise TypeError(
                f"RedisPubSubChannelLayer does not take {name!r}: {reason}. "
                "Use RedisChannelLayer if messages must be stored until received."
            )
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(f"prefix must be a non-empty str, got {prefix!r}")
        for label, callback in (("on_disconnect", on_disconnect), ("on_reconnect", on_reconnect)):
            if callback is not None and not callable(callback):
                raise TypeError(f"{label} must be callable, got {callback!r}")
        super().__init__(capacity=capacity, channel_capacity=channel_capacity)
        self.prefix = prefix
        self.on_disconnect = on_disconnect
        self.on_reconnect = on_reconnect
        self._serializer = PositionedSerializer(
            build_serializer(serializer, symmetric_encryption_keys)
        )
        self._conns = build_connections(
            hosts,
            cluster_nodes=cluster_nodes,
            sentinels=sentinels,
            service_name=service_name,
            sentinel_kwargs=sentinel_kwargs,
            connection_kwargs=connection_kwargs,
            reply_timeout=PUBLISH_TIMEOUT,
        )
        self._conns.metrics = self.metrics
        if isinstance(self._conns, RedisConnections):  # a cluster follows its own failovers
            self._conns.watch_role(self.role_check_interval, self._demoted)
        # A cluster: sharded pub/sub, so a message goes only to its channel's node.
        self._publish = pack_spublish if self._conns.clustered else pack_publish
        self.history_policy = HistoryPolicy(group_history)
        self._history = RedisHistory(self._conns, prefix, self.history_policy, self._serializer)
        self._heartbeat = PresenceHeartbeat(self._conns, prefix, self.presence_interval)
        self._presence = RedisPresence(
            self._conns, prefix, timeout=self.presence_timeout, attach=self._heartbeat.attach
        )

    # Point to point -----------------------------------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """PUBLISH ``message`` to ``channel``; lost if nobody is subscribed to it."""
        require_valid_channel_name(channel)
        require_valid_message(message)
        payload = self._serializer.dumps(message)
        key = self._state().channel_key(channel)
        pipe = self._conns.pipe(self._conns.shard_for(channel))
        receivers = await pipe.call(self._publish(key, payload))
        if count := self._count:
            count.sent += 1
            if not receivers:
                count.no_subscriber += 1

    async def receive(self, channel: str) -> dict[str, Any]:
        """Return the next message on ``channel``, subscribing to it on first use.

        Messages sent before the first ``receive()`` on a name not made by
        :meth:`new_channel` are lost (nobody was subscribed). Cancelling a
        pending ``receive()`` loses no message.
        """
        state = self._state()
        inbox = state.inboxes.get(channel)  # names with an inbox were validated already
        if inbox is None:
            require_valid_channel_name(channel)
            inbox = await state.open_inbox(channel, self.get_capacity(channel))
        if inbox.release is not None:
            inbox.release.cancel()
            inbox.release = None
        while True:
            try:
                data = await inbox.get()
            except asyncio.CancelledError:
                self._receive_cancelled(state, channel, inbox)
                raise
            # Anyone may PUBLISH to our names: another serializer, an old key during
            # a rotation done in the wrong order, a foreign tool. One such message
            # must cost its own delivery only, never the consumer (a 1011 close of
            # every member of a group): skip it, loudly, and wait for the next.
            try:
                message = self._serializer.loads(data)
                require_valid_message(message)  # msgpack decodes b"1" to 1, without error
                if count := self._count:
                    count.received += 1
                return message
            except Exception as exc:
                if count := self._count:
                    count.undecodable += 1
                logger.error(
                    "Dropped an undecodable message on channel %r (%d bytes; another "
                    "serializer or encryption key?): %r",
                    channel,
                    len(data),
                    exc,
                )

    async def new_channel(self, prefix: str = "specific") -> str:
        """Return a new process-local channel name, already subscribed."""
        require_valid_group_name(prefix)
        name = require_valid_channel_name(f"{prefix}.pubsub!{secrets.token_hex(12)}")
        await self._state().open_inbox(name, self.get_capacity(name))
        return name

    # Groups -------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        """Add local ``channel`` to ``group``; the process subscribes to the group once."""
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        state = self._state()
        inbox = state.inboxes.get(channel)
        if inbox is None:
            inbox = await state.open_inbox(channel, self.get_capacity(channel))
        await state.join(group, channel, inbox)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; unsubscribe when no local member is left."""
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        await self._state().leave(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """One PUBLISH, whatever the number of members (in any process)."""
        require_valid_group_name(group)
        require_valid_message(message)
        payload = self._serializer.dumps(message)
        key = self._state().group_key(group)
        limits = self.history_policy(group) if self.history_policy else None
        if limits is not None:  # a resumable group: stored and published in one script
            await self._history.publish(group, limits, payload, key)
            if count := self._count:
                count.group_sends += 1
            return
        pipe = self._conns.pipe(self._conns.shard_for(group))
        receivers = await pipe.call(self._publish(key, payload))
        if count := self._count:
            count.group_sends += 1
            count.group_deliveries += receivers
            if not receivers:
                count.no_subscriber += 1

    async def release_channel(self, channel: str) -> None:
        """Unsubscribe local ``channel`` and take it out of its groups, now.

        Consumers call this when they stop, so a channel is not kept for
        :attr:`release_after` seconds (or, if its handler failed, forever).
        """
        require_valid_channel_name(channel)
        await self._state().release_now(channel)

    # Lifecycle ----------------------------------------------------------------------

    async def flush(self) -> None:
        """Drop buffered messages, presences and history, and leave every group.

        Channels stay subscribed.
        """
        self._presence.clear()
        await delete_stored(self._conns, self.prefix)
        state = self._state()
        await state.barrier()  # messages already on the wire are dropped too
        await state.leave_all()
        for inbox in state.inboxes.values():
            inbox.items.clear()

    async def close(self) -> None:
        """Unsubscribe what this event loop holds and close its connections.

        Its pending receives fail. Other event loops keep their subscriptions
        (a script thread doing ``async with layer:`` leaves the app's consumers
        alone), and a loop that shuts down releases its own. The layer may be
        used again afterwards; it reconnects on first use.
        """
        await self._conns.close()  # presences too: they are per-loop state

    # Internals ----------------------------------------------------------------------

    def _state(self) -> LoopSubscriptions:
        """This loop's subscriptions (closed with the loop's connections)."""
        return self._conns.local(self._new_state)

    def _new_state(self) -> LoopSubscriptions:
        return LoopSubscriptions(
            asyncio.get_running_loop(),
            self._conns,
            self.prefix,
            on_drop=self._dropped,
            on_disconnect=self.on_disconnect,
            on_reconnect=self.on_reconnect,
        )

    def _demoted(self, shard: int) -> None:
        """Shard ``shard``'s server was demoted: its subscriber reconnects too (new primary)."""
        subscriber = self._state().subscribers.get(shard)
        if subscriber is not None:
            subscriber.recycle()

    def _receive_cancelled(self, state: LoopSubscriptions, channel: str, inbox: Inbox) -> None:
        # inbox.get() already passed on a message handed to us: arm the release timer.
        if not inbox.waiters and inbox.release is None:
            inbox.release = state.loop.call_later(self.release_after, state.release, channel, inbox)

    def _dropped(self) -> None:
        self.dropped_messages += 1
        if count := self._count:
            count.channel_full += 1
        # At most one warning per 10 s (fast_channels.metrics.events), with the count.
        self.metrics.dropped(
            1,
            lambda n: (
                f"Pub/sub layer {self.prefix!r} dropped {n} message(s): a local channel "
                f"buffer was full (capacity {self.capacity}); its consumer is too slow. Raise "
                "capacity or speed it up."
            ),
            logger,
        )
