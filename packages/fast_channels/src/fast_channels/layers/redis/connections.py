"""Per-event-loop Redis clients, one per shard, and the shard picker.

redis-py's asyncio connections belong to the event loop that opened them, and
a layer registered at import time may be used from several loops (a test
suite, ``asyncio.run()`` in a script). So clients are created lazily, on first
use inside a loop, and kept per loop. Nothing here does I/O at construction.
"""

from __future__ import annotations

import asyncio
import binascii
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...exceptions import ChannelLayerConnectionError
from .hosts import HostConfig

#: Defaults chosen so a call during an outage fails within a few seconds, not never.
DEFAULT_OPTIONS: Mapping[str, Any] = {
    "socket_connect_timeout": 2.0,
    "socket_timeout": 10.0,
    "socket_keepalive": True,
}
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


def _make_client(config: HostConfig, max_connections: int) -> Redis:
    options = {**DEFAULT_OPTIONS, **config.options}
    options.setdefault("retry", _retry())
    options.setdefault("retry_on_error", [RedisConnectionError, RedisTimeoutError])
    if config.is_sentinel:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves __init__ unannotated
            list(config.sentinels),
            sentinel_kwargs={
                "socket_connect_timeout": options["socket_connect_timeout"],
                "socket_timeout": 2.0,
                **config.sentinel_kwargs,
            },
            **options,
        )
        client: Redis = sentinel.master_for(str(config.service_name))
        return client
    if config.url is not None:
        pool = BlockingConnectionPool.from_url(
            config.url, max_connections=max_connections, timeout=POOL_WAIT_TIMEOUT, **options
        )
    else:
        pool = BlockingConnectionPool(
            max_connections=max_connections, timeout=POOL_WAIT_TIMEOUT, **options
        )
    return Redis(connection_pool=pool)


class RedisConnections:
    """One lazily created Redis client per shard, per running event loop."""

    def __init__(
        self, hosts: list[HostConfig], *, max_connections: int = DEFAULT_MAX_CONNECTIONS
    ) -> None:
        if not hosts:
            raise ValueError("at least one Redis host is needed")
        self.hosts = hosts
        self.max_connections = max_connections
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Redis | None]] = (
            weakref.WeakKeyDictionary()
        )

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
            client = clients[index] = _make_client(self.hosts[index], self.max_connections)
        return client

    def client_for(self, key: str) -> Redis:
        return self.client(self.shard_for(key))

    @asynccontextmanager
    async def errors(self, index: int) -> AsyncIterator[None]:
        """Turn redis-py's connection failures into one clear, actionable error."""
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise ChannelLayerConnectionError(
                f"Redis at {self.hosts[index].describe()} is unreachable ({exc}). "
                "Check that it is running (redis-cli ping) and the URL is right; "
                "the layer reconnects by itself once it answers."
            ) from exc

    async def close(self) -> None:
        """Close this loop's clients; forget clients of loops that are closed."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        clients = self._per_loop.pop(loop, None) if loop is not None else None
        # Other loops may still be running (a sync helper in a thread): only
        # forget clients of loops that are closed.
        for other in [lp for lp in self._per_loop if lp.is_closed()]:
            del self._per_loop[other]
        for client in clients or ():
            if client is not None:
                await client.aclose(close_connection_pool=True)
                # A Sentinel-managed client's pool keeps its own clients to the sentinels.
                manager = getattr(client.connection_pool, "sentinel_manager", None)
                for sentinel_client in getattr(manager, "sentinels", ()):
                    await sentinel_client.aclose()
