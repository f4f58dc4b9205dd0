"""Redis Cluster connections with the surface of :class:`~.connections.RedisConnections`.

The layers ask ``shard_for(key)`` and get a node index; ``client(i)``,
``pipe(i)`` and ``dedicated(i)`` reach that node, per event loop, as on a
sharded setup. The difference is that nodes are discovered at runtime: the
seeds come first, every master named by ``CLUSTER SLOTS`` (or a ``MOVED``
reply) is appended, and indices never change, so per-loop lists only grow.

How the topology is kept right:

- the slot table (:mod:`.slots`) is read with ``CLUSTER SLOTS`` on first use
  and again, at most every :data:`REFRESH_INTERVAL`, after a ``MOVED`` reply,
  a broken connection or a ``CLUSTERDOWN`` (:meth:`ClusterConnections.note_error`);
- a pipe call answered with ``MOVED`` updates that slot and is sent once more to
  the named node; one answered with ``ASK`` is sent there once with
  ``ASKING`` before it (:class:`ClusterPipe`), so a live reshard costs a
  caller one extra round trip, not an error;
- background readers re-ask ``shard_for`` before each attempt and call
  ``note_error`` with what they catch, so they follow a slot that moved or a
  replica promoted after its master died.

Every node gets the seeds' options: password, TLS (``rediss://``) and
``connection_kwargs`` apply to nodes discovered later exactly as to the seeds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from ....exceptions import ChannelLayerConnectionError, RedisReplyError
from .connections import DEFAULT_MAX_CONNECTIONS, _make_client, link_metrics
from .dedicated import dedicated_connection
from .errors import reply_code, unreachable
from .faults import Fault, classify, error_reply
from .hosts import HostConfig, parse_hosts
from .loops import LAYER_STATE, LoopLocal, LoopLocals, PerLoop
from .options import connection_options
from .pipe import ShardPipe
from .resp import pack
from .slots import UNKNOWN, SlotTable, key_slot, redirection

if TYPE_CHECKING:
    from ....metrics.layer import LayerMetrics, LinkMetrics

logger = logging.getLogger(__name__)

L = TypeVar("L", bound=LoopLocal)

#: Seconds between two reads of the slot table (a burst of MOVED replies reads it once).
REFRESH_INTERVAL = 0.1
_CLUSTER_SLOTS = pack(b"CLUSTER", b"SLOTS")


class ClusterPipe(ShardPipe):
    """A node's pipe that follows ``MOVED`` and ``ASK`` replies (once per call)."""

    def __init__(self, conns: ClusterConnections, index: int) -> None:
        super().__init__(
            lambda: conns.dedicated(index), conns.hosts[index].describe(), conns.reply_timeout
        )
        self._conns = conns

    async def call(self, command: bytes, *, asking: bool = False) -> Any:
        try:
            return await super().call(command, asking=asking)
        except RedisReplyError as exc:
            target = self._conns.redirected(exc)
            if target is None or asking:
                raise
        except ChannelLayerConnectionError as exc:
            # A dead or demoted node: its slots may have a new master by now.
            self._conns.note_error(exc)
            raise
        index, ask = target
        return await ShardPipe.call(self._conns.pipe(index), command, asking=ask)

    async def call_batch(self, commands: Sequence[bytes]) -> list[Any]:
        try:
            results = await super().call_batch(commands)
        except ChannelLayerConnectionError as exc:
            self._conns.note_error(exc)
            raise
        for i, result in enumerate(results):  # the few redirected ones, one by one
            if isinstance(result, RedisReplyError) and self._conns.redirected(result) is not None:
                try:
                    results[i] = await self.call(commands[i])
                except Exception as exc:
                    results[i] = exc
        return results


class _LoopEntry:
    """One event loop's clients and pipes (by node index) and the layer's state."""

    __slots__ = ("clients", "locals", "pipes", "refresh")

    def __init__(self) -> None:
        self.clients: dict[int, Redis] = {}
        self.pipes: dict[int, ClusterPipe] = {}
        self.locals = LoopLocals()
        self.refresh: asyncio.Task[None] | None = None


class ClusterConnections:
    """Per-loop connections to the nodes of one Redis Cluster (see the module docs)."""

    clustered = True

    def __init__(
        self,
        seeds: list[HostConfig],
        *,
        reply_timeout: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if not seeds:
            raise TypeError(
                "cluster_nodes needs at least one seed node, e.g. ['redis://node-1:6379']"
            )
        self.reply_timeout = reply_timeout
        self.max_connections = max_connections
        #: Per node: its address for error messages, and every option of its connections.
        self.hosts: list[HostConfig] = []
        self.options: list[dict[str, Any]] = []
        self._indices: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._template: dict[str, Any] = {}
        for seed in seeds:
            options = connection_options(seed)
            if "path" in options or seed.is_sentinel:
                raise TypeError(
                    "cluster_nodes takes TCP addresses of cluster nodes (redis://, rediss:// "
                    f"URLs or (host, port) tuples), got {seed.describe()!r}"
                )
            self._template = self._template or options
            self.node(str(options.get("host", "localhost")), int(options.get("port", 6379)))
        self.seed_count = len(self.hosts)
        self.table = SlotTable()
        self.masters: set[int] = set()
        self._refreshed_at = -REFRESH_INTERVAL
        self._loops: PerLoop[_LoopEntry] = PerLoop(_LoopEntry, self._release)
        #: The owning layer's metrics, set by the layer (None: nothing counted).
        self.metrics: LayerMetrics | None = None

    @classmethod
    def from_arguments(
        cls,
        cluster_nodes: Sequence[Any],
        *,
        connection_kwargs: Mapping[str, Any] | None,
        reply_timeout: float,
    ) -> ClusterConnections:
        """Build from a layer's ``cluster_nodes`` and ``connection_kwargs``."""
        if isinstance(cluster_nodes, str):
            cluster_nodes = [cluster_nodes]
        if not isinstance(cluster_nodes, Sequence) or not cluster_nodes:
            raise TypeError(
                "cluster_nodes must be a non-empty list of seed nodes, e.g. "
                f"['redis://node-1:6379', ('node-2', 6379)]; got {cluster_nodes!r}"
            )
        seeds = parse_hosts(cluster_nodes, connection_kwargs=connection_kwargs)
        return cls(seeds, reply_timeout=reply_timeout)

    def node(self, host: str, port: int) -> int:
        """The index of the node at ``host:port``, added (with the seeds' options) if new."""
        index = self._indices.get((host, port))
        if index is None:
            with self._lock:  # loops in several threads may learn of a node at once
                index = self._indices.get((host, port))
                if index is None:
                    options = {**self._template, "host": host, "port": port}
                    self.hosts.append(HostConfig(options=options))
                    self.options.append(options)
                    index = self._indices[(host, port)] = len(self.hosts) - 1
        return index

    @property
    def shard_count(self) -> int:
        """Nodes known so far (masters, seeds, and nodes that used to be masters)."""
        return len(self.hosts)

    @property
    def loop_count(self) -> int:
        return len(self._loops)

    def shard_for(self, key: str) -> int:
        """The node serving ``key``'s slot (the first seed while the table is unknown)."""
        index = self.table.owners[key_slot(key)]
        return 0 if index == UNKNOWN else index

    def route(self, key: str) -> tuple[int, int]:
        """(node index, slot) of ``key``: what a per-slot batch is grouped by."""
        slot = key_slot(key)
        index = self.table.owners[slot]
        return (0 if index == UNKNOWN else index), slot

    async def shard_indices(self) -> list[int]:
        """Every master's index (reading the slot table first if it is not loaded)."""
        if not self.table.loaded:
            await self.refresh()
        return sorted(self.masters)

    def locals(self, key: str = LAYER_STATE) -> list[LoopLocal]:
        """The state under ``key`` of every event loop that has one (for metrics)."""
        found = (entry.locals.get(key) for entry in self._loops.entries())
        return [state for state in found if state is not None]

    def local(self, make: Callable[[], L], key: str = LAYER_STATE) -> L:
        return self._loops.current().locals.setdefault(key, make)

    def client(self, index: int) -> Redis:
        clients = self._loops.current().clients
        client = clients.get(index)
        if client is None:
            client = clients[index] = _make_client(
                self.hosts[index], self.options[index], self.max_connections
            )
        return client

    def pipe(self, index: int) -> ClusterPipe:
        pipes = self._loops.current().pipes
        pipe = pipes.get(index)
        if pipe is None:
            pipe = pipes[index] = ClusterPipe(self, index)
            pipe.link_metrics = self.link(index)
        return pipe

    def link(self, index: int) -> LinkMetrics | None:
        """The metrics of node ``index`` (None without metrics)."""
        return link_metrics(self.metrics, self.hosts[index])

    def dedicated(self, index: int) -> AbstractConnection:
        return dedicated_connection(self.options[index])

    # Topology -------------------------------------------------------------------------

    def redirected(self, exc: BaseException) -> tuple[int, bool] | None:
        """(node index, ask) if ``exc`` is a ``MOVED``/``ASK`` reply; a MOVED updates the table."""
        reply = error_reply(exc)
        moved = None if reply is None else redirection(reply_code(reply), str(reply))
        if moved is None:
            return None
        index = self.node(moved.host, moved.port)
        if not moved.ask:
            self.table.moved(moved.slot, index)
            self._schedule_refresh()  # one slot moved: others may have too
        return index, moved.ask

    def note_error(self, exc: BaseException) -> None:
        """A call or reader hit ``exc``: re-read the slot table soon if it may be stale."""
        if self.redirected(exc) is None and classify(exc) in (Fault.CONNECTION, Fault.FAILOVER):
            self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        try:
            entry = self._loops.current()
        except RuntimeError:  # no running loop: the next call in a loop refreshes
            return
        if entry.refresh is None or entry.refresh.done():
            entry.refresh = asyncio.create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # the callers' own retries report the outage
            logger.debug("could not read the cluster's slot table: %s", exc)

    async def refresh(self) -> None:
        """Read the slot table from the first node that answers ``CLUSTER SLOTS``."""
        loop = asyncio.get_running_loop()
        wait = self._refreshed_at + REFRESH_INTERVAL - loop.time()
        if wait > 0 and self.table.loaded:
            await asyncio.sleep(wait)
        self._refreshed_at = loop.time()
        # Masters first (they know best), then every other node, seeds included.
        order = [*sorted(self.masters), *range(len(self.hosts))]
        problems = []
        for index in dict.fromkeys(order):
            try:
                async with asyncio.timeout(min(2.0, self.reply_timeout)):
                    reply = await ShardPipe.call(self.pipe(index), _CLUSTER_SLOTS)
            except (ChannelLayerConnectionError, RedisReplyError, TimeoutError) as exc:
                problems.append(f"{self.hosts[index].describe()}: {exc}")
                continue
            options = self.options[index]
            asked = (str(options["host"]), int(options["port"]))
            if not reply:  # a node not (yet) in a cluster answers with no slots
                problems.append(f"{self.hosts[index].describe()}: serves no slots")
                continue
            self.masters = self.table.load(reply, asked, self.node)
            return
        raise unreachable("every cluster node", "is unreachable", "Tried: " + "; ".join(problems))

    # Lifecycle ------------------------------------------------------------------------

    async def close(self) -> None:
        await self._loops.close_current()

    async def _release(self, entry: _LoopEntry, graceful: bool) -> None:
        if entry.refresh is not None:
            entry.refresh.cancel()
            await asyncio.gather(entry.refresh, return_exceptions=True)
        await entry.locals.close(graceful=graceful)
        for pipe in entry.pipes.values():
            await pipe.close()
        for client in entry.clients.values():
            await client.aclose(close_connection_pool=True)
