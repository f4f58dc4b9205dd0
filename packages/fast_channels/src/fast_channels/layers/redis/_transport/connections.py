"""Per-event-loop Redis clients and pipes, one per shard, and the shard picker.

redis-py's asyncio connections belong to the event loop that opened them, and
a layer registered at import time may be used from several loops (a test
suite, ``asyncio.run()`` in a script). So clients and pipes are created
lazily, on first use inside a loop, and kept per loop. Nothing here does I/O
at construction. Each shard has a pooled client (for blocking commands) and a
:class:`~.pipe.ShardPipe` (for every short call of both layers).
"""

from __future__ import annotations

import asyncio
import binascii
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .dedicated import dedicated_connection
from .hosts import HostConfig, parse_hosts
from .options import connection_options, sentinel_options
from .pipe import ShardPipe

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


def _make_client(config: HostConfig, options: dict[str, Any], max_connections: int) -> Redis:
    options = {**options}
    options.setdefault("retry", _retry())
    options.setdefault("retry_on_error", [RedisConnectionError, RedisTimeoutError])
    if config.is_sentinel:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves __init__ unannotated
            list(config.sentinels),
            sentinel_kwargs=sentinel_options(config, options),
            **options,
        )
        client: Redis = sentinel.master_for(str(config.service_name))
        return client
    pool = BlockingConnectionPool(
        max_connections=max_connections, timeout=POOL_WAIT_TIMEOUT, **options
    )
    return Redis(connection_pool=pool)


class RedisConnections:
    """One lazily created Redis client per shard, per running event loop."""

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
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Redis | None]] = (
            weakref.WeakKeyDictionary()
        )
        self._pipes: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[ShardPipe | None]
        ] = weakref.WeakKeyDictionary()
        self._last_loop: asyncio.AbstractEventLoop | None = None
        self._last_pipes: list[ShardPipe | None] = []

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

    def shard_for(self, key: str) -> int:
        """The shard that owns ``key`` (a channel or group name)."""
        return shard_index(key, len(self.hosts))

    def client(self, index: int) -> Redis:
        """The current event loop's client for shard ``index``."""
        loop = asyncio.get_running_loop()
        clients = self._per_loop.get(loop)
        if clients is None:
            clients = self._per_loop[loop] = [None] * len(self.hosts)
        client = clients[index]
        if client is None:
            client = clients[index] = _make_client(
                self.hosts[index], self.options[index], self.max_connections
            )
        return client

    def pipe(self, index: int) -> ShardPipe:
        """The current event loop's pipe to shard ``index`` (see :mod:`.pipe`)."""
        loop = asyncio.get_running_loop()
        if loop is self._last_loop:  # the common case, kept cheap
            pipes = self._last_pipes
        else:
            pipes = self._pipes.get(loop) or [None] * len(self.hosts)
            self._pipes[loop] = pipes
            self._last_loop, self._last_pipes = loop, pipes
        pipe = pipes[index]
        if pipe is None:
            pipe = pipes[index] = ShardPipe(
                lambda: self.dedicated(index), self.hosts[index].describe(), self.reply_timeout
            )
        return pipe

    def dedicated(self, index: int) -> AbstractConnection:
        """A new, unconnected connection to shard ``index``, outside the pool."""
        return dedicated_connection(self.options[index], self.client(index).connection_pool)

    async def close(self) -> None:
        """Close this loop's clients; forget clients of loops that are closed."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        clients = self._per_loop.pop(loop, None) if loop is not None else None
        pipes = self._pipes.pop(loop, None) if loop is not None else None
        self._last_loop, self._last_pipes = None, []
        # Other loops may still be running (a sync helper in a thread): only
        # forget clients of loops that are closed.
        for other in [lp for lp in self._per_loop if lp.is_closed()]:
            del self._per_loop[other]
        for other in [lp for lp in self._pipes if lp.is_closed()]:
            del self._pipes[other]
        for pipe in pipes or ():
            if pipe is not None:
                await pipe.close()
        for client in clients or ():
            if client is not None:
                await client.aclose(close_connection_pool=True)
                # A Sentinel-managed client's pool keeps its own clients to the sentinels.
                manager = getattr(client.connection_pool, "sentinel_manager", None)
                for sentinel_client in getattr(manager, "sentinels", ()):
                    await sentinel_client.aclose()
