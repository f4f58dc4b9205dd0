"""What one pub/sub layer holds in one event loop, and the bookkeeping around it.

Local channels have an :class:`~.inbox.Inbox`; every Redis name this process
listens to (a channel, or a group with local members) has a
:class:`~.inbox.Route` to the inboxes its messages go to. A route exists
exactly while its name is subscribed, so two local members of one group
share one subscription, dropped with the last of them. Subscriber
connections (one per shard) are created on first use; publishing goes
through the shared pipes of :class:`~.connections.RedisConnections`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import NamedTuple

from ....exceptions import ChannelLayerConnectionError
from .._transport.callbacks import Callback
from .._transport.seam import Connections
from .._transport.slots import tag
from .._transport.subscriber import ShardSubscriber
from .following import SlotFollower
from .inbox import Inbox, Route

logger = logging.getLogger(__name__)


class _Unused(NamedTuple):
    """A subscription nobody in this process needs any more."""

    shard: int
    key: bytes


class LoopSubscriptions:
    """Connections, inboxes, group memberships and routes of one layer in one loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conns: Connections,
        prefix: str,
        *,
        on_drop: Callable[[], None],
        on_disconnect: Callback | None,
        on_reconnect: Callback | None,
    ) -> None:
        self.loop = loop
        self._conns = conns
        self._channel_prefix = f"{prefix}:"
        self._group_prefix = f"{prefix}:group:"
        #: A cluster: names are hash tags (a channel's slot is its name's), and
        #: subscriptions follow their slot to whichever node serves it.
        self._tagged = conns.clustered
        self._on_drop = on_drop
        self._on_disconnect = on_disconnect
        self._on_reconnect = on_reconnect
        self.subscribers: dict[int, ShardSubscriber] = {}
        self.inboxes: dict[str, Inbox] = {}
        self.groups: dict[str, dict[str, None]] = {}
        self.routes: dict[bytes, Route] = {}
        self._follower = (
            SlotFollower(conns, self.routes, self.subscriber, on_reconnect)
            if self._tagged
            else None
        )

    def channel_key(self, channel: str) -> bytes:
        return (self._channel_prefix + (tag(channel) if self._tagged else channel)).encode()

    def group_key(self, group: str) -> bytes:
        return (self._group_prefix + (tag(group) if self._tagged else group)).encode()

    # Connections ----------------------------------------------------------------------

    def subscriber(self, shard: int) -> ShardSubscriber:
        subscriber = self.subscribers.get(shard)
        if subscriber is None:
            follower = self._follower
            subscriber = self.subscribers[shard] = ShardSubscriber(
                lambda: self._conns.dedicated(shard),
                self._deliver,
                self._conns.hosts[shard].describe(),
                on_disconnect=self._on_disconnect,
                on_reconnect=self._on_reconnect,
                sharded=self._tagged,
                on_moved=follower.moved if follower else None,
                on_down=(lambda: follower.node_down(shard)) if follower else None,
            )
            subscriber.link = self._conns.link(shard)
            subscriber.metrics = self._conns.metrics
        return subscriber

    def _deliver(self, name: bytes, data: bytes) -> None:
        route = self.routes.get(name)
        if route is not None:
            for inbox in route.inboxes:
                if not inbox.put(data):
                    self._on_drop()

    # Channels and groups --------------------------------------------------------------

    async def open_inbox(self, channel: str, capacity: int) -> Inbox:
        """Create ``channel``'s inbox and subscribe it (or join a subscribe in flight)."""
        key = self.channel_key(channel)
        route = self.routes.get(key)
        if route is not None:
            await asyncio.shield(route.ready)
            return self.inboxes[channel]
        inbox = self.inboxes[channel] = Inbox(capacity)
        try:
            route = await self._subscribe(key, self._conns.shard_for(channel))
        except BaseException:
            if self.inboxes.get(channel) is inbox:
                del self.inboxes[channel]
            raise
        route.inboxes.append(inbox)
        return inbox

    async def join(self, group: str, channel: str, inbox: Inbox) -> None:
        """Route ``group``'s messages to ``inbox`` too, subscribing the group if new here."""
        members = self.groups.setdefault(group, {})
        if channel in members:
            return
        members[channel] = None
        key = self.group_key(group)
        route = self.routes.get(key)
        try:
            if route is None:
                route = await self._subscribe(key, self._conns.shard_for(group))
            else:
                await asyncio.shield(route.ready)
        except BaseException:
            if self.groups.get(group) is members:
                members.pop(channel, None)
                if not members:
                    del self.groups[group]
            raise
        route.inboxes.append(inbox)

    async def leave(self, group: str, channel: str) -> None:
        """Take ``channel`` out of ``group``; unsubscribe the group with its last member."""
        unused = self._detach(group, channel, self.inboxes.get(channel))
        if unused is not None:
            await self.subscriber(unused.shard).unsubscribe(unused.key)

    async def leave_all(self) -> None:
        for group, members in list(self.groups.items()):
            for channel in list(members):
                await self.leave(group, channel)

    def release(self, channel: str, inbox: Inbox) -> None:
        """Forget an abandoned channel (its ``release_after`` timer fired)."""
        inbox.release = None
        if self.inboxes.get(channel) is not inbox or inbox.waiters:
            return  # received on again, or already gone
        unused = self._forget(channel, inbox)
        task = asyncio.ensure_future(self._unsubscribe(unused))
        task.add_done_callback(_log_failure)

    async def release_now(self, channel: str) -> None:
        """Forget ``channel`` at once (its consumer stopped); a no-op if unknown."""
        inbox = self.inboxes.get(channel)
        if inbox is None or inbox.waiters:
            return  # never used here, already released, or still received on
        if inbox.release is not None:
            inbox.release.cancel()
            inbox.release = None
        await self._unsubscribe(self._forget(channel, inbox))

    def _forget(self, channel: str, inbox: Inbox) -> list[_Unused]:
        """Drop ``channel``'s inbox, route and memberships; return what to unsubscribe."""
        del self.inboxes[channel]
        key = self.channel_key(channel)
        route = self.routes.pop(key, None)
        unused = [_Unused(route.shard, key)] if route is not None else []
        for group in [g for g, members in self.groups.items() if channel in members]:
            dropped = self._detach(group, channel, inbox)
            if dropped is not None:
                unused.append(dropped)
        return unused

    async def _unsubscribe(self, unused: list[_Unused]) -> None:
        for item in unused:
            await self.subscriber(item.shard).unsubscribe(item.key)

    async def _subscribe(self, key: bytes, shard: int) -> Route:
        route = self.routes[key] = Route(shard, self.loop.create_future())
        try:
            if self._follower is not None:
                await self._follower.subscribe(route, key)
            else:
                await self.subscriber(shard).subscribe(key)
        except BaseException as exc:
            if self.routes.get(key) is route:
                del self.routes[key]
            await self.subscriber(route.shard).unsubscribe(key)
            if not isinstance(exc, Exception):  # we were cancelled; joiners were not
                exc = ChannelLayerConnectionError("subscribing was interrupted; try again")
            route.ready.set_exception(exc)
            route.ready.exception()  # mark it retrieved: joiners get it through shield()
            raise
        route.ready.set_result(None)
        return route

    def _detach(self, group: str, channel: str, inbox: Inbox | None) -> _Unused | None:
        """Take ``channel`` out of ``group``; return the subscription to drop, if now unused."""
        members = self.groups.get(group)
        if members is None or channel not in members:
            return None
        del members[channel]
        key = self.group_key(group)
        route = self.routes.get(key)
        if route is not None and inbox is not None:
            with contextlib.suppress(ValueError):
                route.inboxes.remove(inbox)
        if members:
            return None
        del self.groups[group]
        if route is None:
            return None
        del self.routes[key]
        return _Unused(route.shard, key)

    # Lifecycle ------------------------------------------------------------------------

    async def barrier(self) -> None:
        """Return once messages already pushed by Redis went into the inboxes."""
        for subscriber in list(self.subscribers.values()):
            await subscriber.barrier()

    async def close(self, *, graceful: bool = True) -> None:
        """Fail pending receives, stop readers, close connections.

        No Redis round trips either way: closing the subscriber connections
        ends every subscription on the server.
        """
        closed = ChannelLayerConnectionError("the channel layer was closed")
        for inbox in self.inboxes.values():
            if inbox.release is not None:
                inbox.release.cancel()
            inbox.fail(closed)
        if self._follower is not None:
            await self._follower.close()
        for subscriber in self.subscribers.values():
            await subscriber.close()


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Releasing an abandoned channel failed", exc_info=task.exception())
