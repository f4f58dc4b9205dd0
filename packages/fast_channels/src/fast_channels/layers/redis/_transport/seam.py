"""The connection surface both Redis layers are written against, and its two builders.

:class:`~.connections.RedisConnections` (one server, several ``hosts`` shards
or a Sentinel-managed master) and :class:`~.cluster.ClusterConnections` (a
Redis Cluster) both give, per event loop, a client, a pipe and dedicated
connections by node index, and ``shard_for(key)`` to pick the index. The
layers only see :class:`Connections`; :func:`build_connections` picks the
implementation from the constructor arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from .cluster import ClusterConnections
from .connections import RedisConnections
from .hosts import HostConfig
from .loops import LoopLocal
from .pipe import ShardPipe

if TYPE_CHECKING:
    from ....metrics.layer import LayerMetrics, LinkMetrics

L = TypeVar("L", bound=LoopLocal)


class Connections(Protocol):
    """What a layer uses of its connections (see the module docs)."""

    clustered: bool
    reply_timeout: float
    metrics: LayerMetrics | None

    @property
    def hosts(self) -> Sequence[HostConfig]: ...

    @property
    def shard_count(self) -> int: ...

    @property
    def loop_count(self) -> int: ...

    def shard_for(self, key: str) -> int: ...

    def route(self, key: str) -> tuple[int, int]: ...

    async def shard_indices(self) -> list[int]: ...

    def note_error(self, exc: BaseException) -> None: ...

    async def refresh(self) -> None: ...

    def local(self, make: Callable[[], L], key: str = ...) -> L: ...

    def locals(self, key: str = ...) -> list[LoopLocal]: ...

    def link(self, index: int) -> LinkMetrics | None: ...

    def client(self, index: int) -> Redis: ...

    def pipe(self, index: int) -> ShardPipe: ...

    def dedicated(self, index: int) -> AbstractConnection: ...

    async def close(self) -> None: ...


def build_connections(
    hosts: Sequence[Any] | str | None,
    *,
    cluster_nodes: Sequence[Any] | None,
    sentinels: Sequence[tuple[str, int]] | None,
    service_name: str | None,
    sentinel_kwargs: Mapping[str, Any] | None,
    connection_kwargs: Mapping[str, Any] | None,
    reply_timeout: float,
) -> Connections:
    """The connections a layer's constructor arguments describe (no I/O)."""
    if cluster_nodes is not None:
        clashing = [
            name
            for name, value in (
                ("hosts", hosts),
                ("sentinels", sentinels),
                ("service_name", service_name),
                ("sentinel_kwargs", sentinel_kwargs),
            )
            if value is not None
        ]
        if clashing:
            raise TypeError(
                f"Pass cluster_nodes=[...] or {' / '.join(clashing)}, not both: cluster_nodes "
                "names seed nodes of one Redis Cluster, which finds its own masters and "
                "replicas (it needs neither hosts sharding nor Sentinel)."
            )
        return ClusterConnections.from_arguments(
            cluster_nodes, connection_kwargs=connection_kwargs, reply_timeout=reply_timeout
        )
    return RedisConnections.from_arguments(
        hosts,
        sentinels=sentinels,
        service_name=service_name,
        sentinel_kwargs=sentinel_kwargs,
        connection_kwargs=connection_kwargs,
        reply_timeout=reply_timeout,
    )
