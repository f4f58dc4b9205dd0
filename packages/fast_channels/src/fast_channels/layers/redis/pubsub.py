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
import contextlib
import logging
import secrets
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ...exceptions import ChannelLayerConnectionError
from ..base import BaseChannelLayer
from ..capacity import Pattern
from ..naming import require_valid_channel_name, require_valid_group_name, require_valid_message
from .connections import RedisConnections
from .hosts import parse_hosts
from .inbox import Inbox, Route
from .publisher import ShardPublisher
from .serializers import Serializer, build_serializer
from .subscriber import Callback, ShardSubscriber, dedicated_connection

logger = logging.getLogger(__name__)

#: Seconds between two "buffer full" warnings of one layer.
DROP_WARNING_INTERVAL = 10.0

_REFUSED = {
    "expiry": "pub/sub stores nothing, so no message can expire; messages are delivered "
    "at once or not at all",
    "group_expiry": "a group membership here is a live subscription that lasts until "
    "group_discard() or close(), so it cannot expire",
}


class _Emptied(NamedTuple):
    """A subscription nobody in this process needs any more."""

    shard: int
    key: bytes


class _LoopState:
    """Subscriptions, inboxes and groups of one layer in one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.publishers: dict[int, ShardPublisher] = {}
        self.subscribers: dict[int, ShardSubscriber] = {}
        self.inboxes: dict[str, Inbox] = {}
        self.groups: dict[str, dict[str, None]] = {}
        self.routes: dict[bytes, Route] = {}


class RedisPubSubChannelLayer(BaseChannelLayer):
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
    :param on_disconnect: called (no arguments; sync or async) when a shard's
        subscriber connection is lost.
    :param on_reconnect: called once that connection is back and every channel
        and group is subscribed again. Messages published in between are lost.

    ``expiry`` and ``group_expiry`` are refused with ``TypeError``: nothing is
    stored, so there is nothing to expire. Use ``RedisChannelLayer`` for that.

    A local channel whose ``receive()`` was cancelled (its consumer went away)
    and is not received on again within :attr:`release_after` seconds is
    unsubscribed and leaves its groups, so abandoned channels do not pile up.
    """

    #: Seconds an abandoned channel keeps its subscription (see class docstring).
    release_after: float = 30.0

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
        self._serializer = build_serializer(serializer, symmetric_encryption_keys)
        self._conns = RedisConnections(
            parse_hosts(
                hosts,
                sentinels=sentinels,
                service_name=service_name,
                sentinel_kwargs=sentinel_kwargs,
                connection_kwargs=connection_kwargs,
            )
        )
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._last_state: _LoopState | None = None
        self._channel_prefix = f"{prefix}:"
        self._group_prefix = f"{prefix}:group:"
        self._drops_unreported = 0
        self._next_drop_warning = 0.0

    # Point to point -----------------------------------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """PUBLISH ``message`` to ``channel``; lost if nobody is subscribed to it."""
        require_valid_channel_name(channel)
        require_valid_message(message)
        await self._publish(self._channel_prefix + channel, channel, message)

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
            inbox = await self._open_inbox(state, channel)
        if inbox.release is not None:
            inbox.release.cancel()
            inbox.release = None
        while True:
            if inbox.messages:
                data = inbox.messages.popleft()
            else:
                waiter: asyncio.Future[bytes] = state.loop.create_future()
                inbox.waiters.append(waiter)
                try:
                    data = await waiter
                except asyncio.CancelledError:
                    self._receive_cancelled(state, channel, inbox, waiter)
                    raise
            try:
                return self._serializer.loads(data)
            except Exception as exc:  # a foreign publisher or a wrong key: skip it, loudly
                logger.error("Dropped an undecodable message on %r: %r", channel, exc)

    async def new_channel(self, prefix: str = "specific") -> str:
        """Return a new process-local channel name, already subscribed."""
        require_valid_group_name(prefix)
        name = require_valid_channel_name(f"{prefix}.pubsub!{secrets.token_hex(12)}")
        await self._open_inbox(self._state(), name)
        return name

    # Groups -------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        """Add local ``channel`` to ``group``; the process subscribes to the group once."""
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        state = self._state()
        inbox = state.inboxes.get(channel)
        if inbox is None:
            inbox = await self._open_inbox(state, channel)
        members = state.groups.setdefault(group, {})
        if channel in members:
            return
        members[channel] = None
        key = (self._group_prefix + group).encode()
        route = state.routes.get(key)
        try:
            if route is None:
                route = await self._subscribe(state, key, self._conns.shard_for(group))
            else:
                await asyncio.shield(route.ready)
        except BaseException:
            if state.groups.get(group) is members:
                members.pop(channel, None)
                if not members:
                    del state.groups[group]
            raise
        route.inboxes.append(inbox)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; unsubscribe when no local member is left."""
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        await self._leave(self._state(), group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """One PUBLISH, whatever the number of members (in any process)."""
        require_valid_group_name(group)
        require_valid_message(message)
        await self._publish(self._group_prefix + group, group, message)

    # Lifecycle ----------------------------------------------------------------------

    async def flush(self) -> None:
        """Drop buffered messages and leave every group; channels stay subscribed."""
        state = self._state()
        for subscriber in list(state.subscribers.values()):
            await subscriber.barrier()  # messages already on the wire are dropped too
        for group, members in list(state.groups.items()):
            for channel in list(members):
                await self._leave(state, group, channel)
        for inbox in state.inboxes.values():
            inbox.messages.clear()

    async def close(self) -> None:
        """Unsubscribe everything and close connections; pending receives fail.

        The layer may be used again afterwards; it reconnects on first use.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        state = self._states.pop(loop, None) if loop is not None else None
        self._states.clear()
        self._last_state = None
        if state is not None:
            closed = ChannelLayerConnectionError("the channel layer was closed")
            for inbox in state.inboxes.values():
                if inbox.release is not None:
                    inbox.release.cancel()
                inbox.fail_waiters(closed)
            for subscriber in state.subscribers.values():
                await subscriber.close()
            for publisher in state.publishers.values():
                await publisher.close()
        await self._conns.close()

    # Internals ----------------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._last_state
        if state is not None and state.loop is loop:  # the common case, kept cheap
            return state
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState(loop)
        self._last_state = state
        return state

    async def _publish(self, key: str, name: str, message: dict[str, Any]) -> None:
        payload = self._serializer.dumps(message)
        shard = self._conns.shard_for(name)
        state = self._state()
        publisher = state.publishers.get(shard) or self._publisher(state, shard)
        await publisher.publish(key.encode(), payload)

    def _publisher(self, state: _LoopState, shard: int) -> ShardPublisher:
        pool = self._conns.client(shard).connection_pool
        publisher = state.publishers[shard] = ShardPublisher(
            lambda: dedicated_connection(pool), self._conns.hosts[shard].describe()
        )
        return publisher

    async def _open_inbox(self, state: _LoopState, channel: str) -> Inbox:
        """Create ``channel``'s inbox and subscribe it (or join a subscribe in flight)."""
        key = (self._channel_prefix + channel).encode()
        route = state.routes.get(key)
        if route is None:
            inbox = Inbox(self.get_capacity(channel))
            state.inboxes[channel] = inbox
            try:
                route = await self._subscribe(state, key, self._conns.shard_for(channel))
            except BaseException:
                if state.inboxes.get(channel) is inbox:
                    del state.inboxes[channel]
                raise
            route.inboxes.append(inbox)
            return inbox
        await asyncio.shield(route.ready)
        return state.inboxes[channel]

    async def _subscribe(self, state: _LoopState, key: bytes, shard: int) -> Route:
        route = Route(shard, asyncio.get_running_loop().create_future())
        state.routes[key] = route
        subscriber = self._subscriber(state, shard)
        try:
            await subscriber.subscribe(key)
        except BaseException as exc:
            if state.routes.get(key) is route:
                del state.routes[key]
            await subscriber.unsubscribe(key)
            if not isinstance(exc, Exception):  # we were cancelled; joiners were not
                exc = ChannelLayerConnectionError("subscribing was interrupted; try again")
            route.ready.set_exception(exc)
            route.ready.exception()  # mark it retrieved: joiners get it through shield()
            raise
        route.ready.set_result(None)
        return route

    def _subscriber(self, state: _LoopState, shard: int) -> ShardSubscriber:
        subscriber = state.subscribers.get(shard)
        if subscriber is None:
            pool = self._conns.client(shard).connection_pool
            routes = state.routes

            def deliver(name: bytes, data: bytes) -> None:
                route = routes.get(name)
                if route is not None:
                    for inbox in route.inboxes:
                        if not inbox.put(data):
                            self._dropped()

            subscriber = state.subscribers[shard] = ShardSubscriber(
                lambda: dedicated_connection(pool),
                deliver,
                self._conns.hosts[shard].describe(),
                on_disconnect=self.on_disconnect,
                on_reconnect=self.on_reconnect,
            )
        return subscriber

    async def _leave(self, state: _LoopState, group: str, channel: str) -> None:
        emptied = self._detach(state, group, channel, state.inboxes.get(channel))
        if emptied is not None:
            await self._subscriber(state, emptied.shard).unsubscribe(emptied.key)

    def _detach(
        self, state: _LoopState, group: str, channel: str, inbox: Inbox | None
    ) -> _Emptied | None:
        """Take ``channel`` out of ``group``; return the subscription to drop, if now unused."""
        members = state.groups.get(group)
        if members is None or channel not in members:
            return None
        del members[channel]
        key = (self._group_prefix + group).encode()
        route = state.routes.get(key)
        if route is not None and inbox is not None:
            with contextlib.suppress(ValueError):
                route.inboxes.remove(inbox)
        if members:
            return None
        del state.groups[group]
        if route is None:
            return None
        del state.routes[key]
        return _Emptied(route.shard, key)

    def _receive_cancelled(
        self, state: _LoopState, channel: str, inbox: Inbox, waiter: asyncio.Future[bytes]
    ) -> None:
        if waiter.done() and not waiter.cancelled():
            inbox.messages.appendleft(waiter.result())  # handed over, not yet taken: keep it
        else:
            waiter.cancel()
            with contextlib.suppress(ValueError):
                inbox.waiters.remove(waiter)
        if not inbox.waiters and inbox.release is None:
            inbox.release = asyncio.get_running_loop().call_later(
                self.release_after, self._release, state, channel, inbox
            )

    def _release(self, state: _LoopState, channel: str, inbox: Inbox) -> None:
        """Unsubscribe a channel whose consumer is gone, and take it out of its groups."""
        inbox.release = None
        if state.inboxes.get(channel) is not inbox or inbox.waiters:
            return
        del state.inboxes[channel]
        key = (self._channel_prefix + channel).encode()
        route = state.routes.pop(key, None)
        emptied = [_Emptied(route.shard, key)] if route is not None else []
        for group in [g for g, members in state.groups.items() if channel in members]:
            dropped = self._detach(state, group, channel, inbox)
            if dropped is not None:
                emptied.append(dropped)

        async def unsubscribe() -> None:
            for item in emptied:
                await self._subscriber(state, item.shard).unsubscribe(item.key)

        asyncio.ensure_future(unsubscribe()).add_done_callback(_log_failure)

    def _dropped(self) -> None:
        self.dropped_messages += 1
        self._drops_unreported += 1
        now = time.monotonic()
        if now >= self._next_drop_warning:
            logger.warning(
                "Pub/sub layer %r dropped %d message(s): a local channel buffer was full "
                "(capacity %d); its consumer is too slow. Raise capacity or speed it up.",
                self.prefix,
                self._drops_unreported,
                self.capacity,
            )
            self._drops_unreported = 0
            self._next_drop_warning = now + DROP_WARNING_INTERVAL


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Releasing an abandoned channel failed", exc_info=task.exception())
