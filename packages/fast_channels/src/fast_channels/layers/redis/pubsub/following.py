"""On a Redis Cluster, keep each sharded subscription on the node that serves its slot.

A slot changes node in a reshard (the old node pushes ``sunsubscribe`` for its
channels, or answers ``MOVED`` to an ``SSUBSCRIBE``) and when a master dies and
its replica is promoted (the subscriber's connection fails). Either way the
:class:`~.._transport.subscriber.ShardSubscriber` gives the name up and this
re-reads the slot table and subscribes it where its slot is now, retrying
(50 ms doubling to 1 s) until that works or nobody here needs the name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ....exceptions import ChannelLayerConnectionError
from .._transport.callbacks import Callback, Callbacks
from .._transport.faults import Trouble
from .._transport.seam import Connections
from .._transport.sharded import SlotMoved
from .._transport.subscriber import ShardSubscriber
from .inbox import Route

logger = logging.getLogger(__name__)

#: Subscribes of one name that may be answered with MOVED before giving up.
MOVE_ATTEMPTS = 4
#: Seconds before the first retry of a subscription following its slot (doubling to 1 s).
FOLLOW_DELAY = 0.05


class SlotFollower:
    """Subscribes names on their slot's node and moves them when the slot moves.

    :param routes: the owner's subscriptions (name -> route, whose ``shard`` this updates).
    :param subscriber: the owner's subscriber of a node index.
    """

    def __init__(
        self,
        conns: Connections,
        routes: dict[bytes, Route],
        subscriber: Callable[[int], ShardSubscriber],
        on_reconnect: Callback | None = None,
    ) -> None:
        self._conns = conns
        self._routes = routes
        self._subscriber = subscriber
        #: Fired once the names of a node that went away are subscribed elsewhere
        #: (that node's subscriber, which would fire it, may never come back).
        self._on_reconnect = on_reconnect
        self._callbacks = Callbacks()
        self._tasks: set[asyncio.Future[None]] = set()
        self._rehoming: asyncio.Future[None] | None = None

    async def subscribe(self, route: Route, key: bytes) -> None:
        """SSUBSCRIBE ``key`` on the node serving its slot, following MOVED a few times."""
        await self._conns.shard_indices()  # reads the slot table on first use
        for _ in range(MOVE_ATTEMPTS):
            route.shard = self._conns.shard_for(key.decode())
            try:
                await self._subscriber(route.shard).subscribe(key)
                return
            except SlotMoved as exc:
                self._conns.note_error(exc)  # a MOVED names the new owner
                await self._conns.refresh()
        raise ChannelLayerConnectionError(
            f"could not subscribe {key!r}: its cluster slot kept moving; try again"
        )

    def moved(self, key: bytes) -> None:
        """A subscribed name's slot left its node: subscribe it where the slot is now."""
        route = self._routes.get(key)
        if route is not None:
            self._start(self._follow(key, route))

    def node_down(self, shard: int) -> None:
        """Node ``shard``'s subscriber lost its connection: move names whose slot moved."""
        if self._rehoming is None or self._rehoming.done():
            self._rehoming = self._start(self._rehome(shard))

    async def close(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, work: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Following a moved cluster slot failed", exc_info=task.exception())

    async def _follow(self, key: bytes, route: Route) -> None:
        trouble = Trouble(logger, f"resubscribing {key.decode(errors='replace')!r}")
        delay = FOLLOW_DELAY
        while self._routes.get(key) is route:  # until subscribed, or nobody needs it
            try:
                await self._conns.refresh()
                route.shard = self._conns.shard_for(key.decode())
                await self._subscriber(route.shard).subscribe(key)
            except ChannelLayerConnectionError as exc:  # moved again, or the node is down
                trouble.failed(exc, self._conns.hosts[route.shard].describe())
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            else:
                trouble.recovered()
                return

    async def _rehome(self, shard: int) -> None:
        try:
            await self._conns.refresh()
        except ChannelLayerConnectionError:
            return  # no node answers: the next failed reconnect asks again
        old = self._subscriber(shard)
        follows = []
        for key, route in list(self._routes.items()):
            if route.shard == shard and self._conns.shard_for(key.decode()) != shard:
                old.names.discard(key)
                follows.append(self._follow(key, route))
        if follows:
            await asyncio.gather(*follows)
            logger.info(
                "Pub/sub subscriptions of Redis at %s moved to its successors",
                self._conns.hosts[shard].describe(),
            )
            self._callbacks.fire(self._on_reconnect)
