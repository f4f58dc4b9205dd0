"""Per-event-loop Redis clients and pipes, one per shard, and the shard picker.

redis-py's asyncio connections belong to the event loop that opened them, and
a layer registered at import time may be used from several loops (a test
suite, ``asyncio.run()`` in a script, ``async_to_sync`` in a thread). So
clients and pipes are created lazily, on first use inside a loop, and kept
per loop (:mod:`.loops`), together with the layer's own per-loop state. That
state goes away with its loop: explicitly by ``close()``, or when the loop
shuts down. Nothing here does I/O at construction. Each shard has a pooled
client (for blocking commands) and a :class:`~.pipe.ShardPipe` (for every
short call of both layers).
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .dedicated import dedicated_connection
from .hosts import HostConfig, parse_hosts
from .loops import LAYER_STATE, LoopLocal, LoopLocals, PerLoop
from .options import connection_options, sentinel_options
from .pipe import ShardPipe

if TYPE_CHECKING:
    from ....metrics.layer import LayerMetrics, LinkMetrics

L = TypeVar("L", bound=LoopLocal)

#: Connections per shard per loop; callers beyond this wait (never "Too many connections").
DEFAULT_MAX_CONNECTIONS = 50
POOL_WAIT_TIMEOUT = 20


def shard_index(key: str, shards: int) -> int:
    """Stable shard for ``key``: the same key maps to the same shard in every process."""
    if shards == 1:
        return 0
    return binascii.crc32(key.encode()) % shards


def _retry() -> Retry:
    # A couple of quick retries ride over a dropped idle connection; more would
    # only delay the error a caller needs to see during a real outage.
    return Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)


class _Sentinel(Sentinel):
    """redis-py's Sentinel, with one discovery at a time per service.

    A layer's first call connects its pipe, its readers and its pool at once,
    and each asks for the master. redis-py runs those discoveries side by
    side, over the one list of sentinels that each of them reorders when a
    sentinel answers, so a hung first sentinel was asked by every one of them,
    and again by those that saw the list change under them: 3 s instead of
    the documented 1 s per hung sentinel. Callers arriving while a discovery
    runs share its answer (or its error).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # unannotated
        self._discovering: dict[str, asyncio.Future[Any]] = {}

    async def discover_master(self, service_name: str) -> Any:
        pending = self._discovering.get(service_name)
        if pending is None:
            pending = asyncio.ensure_future(super().discover_master(service_name))
            self._discovering[service_name] = pending
            pending.add_done_callback(lambda done: self._discovered(service_name, done))
        return await asyncio.shield(pending)  # a cancelled caller leaves it to the others

    def _discovered(self, service_name: str, done: asyncio.Future[Any]) -> None:
        if self._discovering.get(service_name) is done:
            del self._discovering[service_name]
        if not done.cancelled():
            done.exception()  # retrieved: whoever waited saw it


def _make_client(config: HostConfig, options: dict[str, Any], max_connections: int) -> Redis:
    options = {**options}
    options.setdefault("retry", _retry())
    options.setdefault("retry_on_error", [RedisConnectionError, RedisTimeoutError])
    if config.is_sentinel:
        sentinel = _Sentinel(
            list(config.sentinels),
            sentinel_kwargs=sentinel_options(config),
            **options,
        )
        client: Redis = sentinel.master_for(str(config.service_name))
        return client
    pool = BlockingConnectionPool(
        max_connections=max_connections, timeout=POOL_WAIT_TIMEOUT, **options
    )
    return Redis(connection_pool=pool)


def link_metrics(metrics: LayerMetrics | None, host: HostConfig) -> LinkMetrics | None:
    """The metrics of the link to ``host`` (None when the layer counts nothing)."""
    return None if metrics is None else metrics.link(host.describe())


class _LoopEntry:
    """What one event loop holds: a client and a pipe per shard, and the layer's state."""

    __slots__ = ("clients", "locals", "pipes")

    def __init__(self, shards: int) -> None:
        self.clients: list[Redis | None] = [None] * shards
        self.pipes: list[ShardPipe | None] = [None] * shards
        self.locals = LoopLocals()


class RedisConnections:
    """One lazily created Redis client and pipe per shard, per running event loop."""

    def __init__(
        self,
        hosts: list[HostConfig],
        *,
        reply_timeout: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if not hosts:
            raise ValueError("at least one Redis host is needed")
        self.hosts = hosts
        self.reply_timeout = reply_timeout
        self.max_connections = max_connections
        #: Per shard: every option its connections are built from (see :mod:`.options`).
        self.options = [connection_options(host) for host in hosts]
        self._loops: PerLoop[_LoopEntry] = PerLoop(lambda: _LoopEntry(len(hosts)), self._release)
        #: The owning layer's metrics, set by the layer (None: nothing counted).
        self.metrics: LayerMetrics | None = None
        #: Set by :meth:`watch_role` (the pub/sub layer): pipes check ``ROLE``.
        self._role_check_interval: float | None = None
        self._on_demoted: Callable[[int], None] | None = None

    @classmethod
    def from_arguments(
        cls,
        hosts: Sequence[Any] | str | None,
        *,
        sentinels: Sequence[tuple[str, int]] | None,
        service_name: str | None,
        sentinel_kwargs: Mapping[str, Any] | None,
        connection_kwargs: Mapping[str, Any] | None,
        reply_timeout: float,
    ) -> RedisConnections:
        """Build from a layer's constructor arguments (the same for both layers)."""
        configs = parse_hosts(
            hosts,
            sentinels=sentinels,
            service_name=service_name,
            sentinel_kwargs=sentinel_kwargs,
            connection_kwargs=connection_kwargs,
        )
        return cls(configs, reply_timeout=reply_timeout)

    @property
    def shard_count(self) -> int:
        return len(self.hosts)

    @property
    def loop_count(self) -> int:
        """Event loops this object holds state for (for leak checks)."""
        return len(self._loops)

    def locals(self, key: str = LAYER_STATE) -> list[LoopLocal]:
        """The state under ``key`` of every event loop that has one (for metrics)."""
        found = (entry.locals.get(key) for entry in self._loops.entries())
        return [state for state in found if state is not None]

    #: Not a Redis Cluster (see :class:`~.cluster.ClusterConnections`): keys keep
    #: their names, and one script may touch keys of any name on a shard.
    clustered = False

    def shard_for(self, key: str) -> int:
        """The shard that owns ``key`` (a channel or group name)."""
        return shard_index(key, len(self.hosts))

    def route(self, key: str) -> tuple[int, int]:
        """(shard, 0): one batch per shard (a cluster batches per node and slot)."""
        return shard_index(key, len(self.hosts)), 0

    async def shard_indices(self) -> list[int]:
        """Every shard's index (for calls that visit each, like ``flush()``)."""
        return list(range(len(self.hosts)))

    def note_error(self, exc: BaseException) -> None:
        """Nothing to learn from ``exc`` here (a cluster re-reads its slot table)."""

    async def refresh(self) -> None:
        """Nothing to re-read: shards are fixed by configuration."""

    def watch_role(self, interval: float, on_demoted: Callable[[int], None]) -> None:
        """Pipes made from now on check their server's role every ``interval`` seconds.

        A pipe whose server is no longer a primary reconnects and calls
        ``on_demoted(shard)``, in its event loop (see :mod:`.pipe`).
        """
        self._role_check_interval = interval
        self._on_demoted = on_demoted

    def local(self, make: Callable[[], L], key: str = LAYER_STATE) -> L:
        """The layer's state ``key`` for the current loop, made by ``make()`` on first use.

        It is closed with the loop's connections (before them), by :meth:`close`
        or when the loop shuts down, so a layer needs no per-loop cache of its own.
        """
        return self._loops.current().locals.setdefault(key, make)

    def client(self, index: int) -> Redis:
        """The current event loop's client for shard ``index``."""
        clients = self._loops.current().clients
        client = clients[index]
        if client is None:
            client = clients[index] = _make_client(
                self.hosts[index], self.options[index], self.max_connections
            )
        return client

    def pipe(self, index: int) -> ShardPipe:
        """The current event loop's pipe to shard ``index`` (see :mod:`.pipe`)."""
        pipes = self._loops.current().pipes
        pipe = pipes[index]
        if pipe is None:
            pipe = pipes[index] = ShardPipe(
                lambda: self.dedicated(index),
                self.hosts[index].describe(),
                self.reply_timeout,
                role_check_interval=self._role_check_interval,
            )
            pipe.link_metrics = self.link(index)
            on_demoted = self._on_demoted
            if on_demoted is not None:
                pipe.on_demoted = lambda: on_demoted(index)
        return pipe

    def link(self, index: int) -> LinkMetrics | None:
        """The metrics of shard ``index``'s server (None without metrics)."""
        return link_metrics(self.metrics, self.hosts[index])

    def dedicated(self, index: int) -> AbstractConnection:
        """A new, unconnected connection to shard ``index``, outside the pool."""
        return dedicated_connection(self.options[index], self.client(index).connection_pool)

    async def close(self) -> None:
        """Close the current loop's state, pipes and clients; other loops keep theirs.

        A no-op outside a running loop or when this loop holds nothing.
        """
        await self._loops.close_current()

    async def _release(self, entry: _LoopEntry, graceful: bool) -> None:
        """Close one loop's state, then its connections (the state may still use them)."""
        await entry.locals.close(graceful=graceful)
        for pipe in entry.pipes:
            if pipe is not None:
                await pipe.close()
        for client in entry.clients:
            if client is not None:
                await client.aclose(close_connection_pool=True)
                # A Sentinel-managed client's pool keeps its own clients to the sentinels.
                manager = getattr(client.connection_pool, "sentinel_manager", None)
                for sentinel_client in getattr(manager, "sentinels", ()):
                    await sentinel_client.aclose()
