"""Dedicated connections: for pipes, subscribers and inbox readers, outside the pool.

These bypass the pool on purpose (see :mod:`.pipe` and :mod:`.subscriber`):
each is long-lived, owned by one reader task, and checked by a watchdog or a
deadline instead of per-command timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from redis.asyncio.connection import AbstractConnection, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import CONNECTION_ERRORS
from .options import connection_class, single_connection_options

#: Seconds to connect, including the handshake (AUTH, SELECT, CLIENT SETINFO);
#: a frozen server accepts TCP connections but never answers the handshake.
CONNECT_TIMEOUT = 5.0
#: Seconds a TLS connection may take to close politely (one round trip) before it is cut.
TLS_CLOSE_TIMEOUT = 1.0


def dedicated_connection(options: Mapping[str, Any], pool: Any = None) -> AbstractConnection:
    """A fresh connection built from the shard's :func:`~.options.connection_options`.

    For a pipe, a subscriber or a reader. ``pool`` is only needed for a
    Sentinel-managed shard: its connection asks that pool's sentinels for the
    current master each time it connects. Nothing of the pool's own state is
    copied. The connection does not retry by itself (callers decide), never
    arms a timeout around reads or writes (a subscription is quiet by nature,
    and per-command timers are the cost we avoid; watchdogs check liveness
    instead), and returns raw bytes.
    """
    kwargs = {
        **single_connection_options(options),
        "retry": Retry(NoBackoff(), 0),
        "socket_timeout": None,
        "health_check_interval": 0,
    }
    if isinstance(pool, SentinelConnectionPool):
        # The pool picked SentinelManagedConnection or its SSL twin; it needs the pool.
        sentinel_class = pool.connection_class
        if not issubclass(sentinel_class, SentinelManagedConnection):
            raise TypeError(f"a Sentinel pool must build Sentinel-managed connections: {pool!r}")
        return sentinel_class(connection_pool=pool, **kwargs)
    return connection_class(options)(**kwargs)


async def connect(conn: AbstractConnection, limit: float | None = None) -> None:
    """Connect within ``limit`` (default :data:`CONNECT_TIMEOUT`) seconds.

    Raises one of :data:`CONNECTION_ERRORS`.
    """
    limit = CONNECT_TIMEOUT if limit is None else limit
    try:
        async with asyncio.timeout(limit):
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    except TimeoutError:
        raise RedisTimeoutError(f"no answer to the connection handshake within {limit}s") from None


async def disconnect(conn: AbstractConnection) -> None:
    """Drop ``conn`` without waiting for the peer; never raises for a broken socket.

    Bytes still buffered for sending are sent first (redis-py closes its
    writer, which flushes): use :func:`abort` when the peer may be frozen.

    A TLS connection closes with a ``close_notify`` exchange, which asyncio
    runs in the background: left alone, a loop that ends right after (a
    layer closed at shutdown) leaves its socket open, with a ResourceWarning.
    So it is waited for, up to :data:`TLS_CLOSE_TIMEOUT`, then cut.
    """
    writer: asyncio.StreamWriter | None = getattr(conn, "_writer", None)
    tls = writer is not None and isinstance(conn, SSLConnection)  # Sentinel's SSL twin too
    try:
        with contextlib.suppress(*CONNECTION_ERRORS):
            await conn.disconnect(nowait=True)
        if tls and writer is not None:
            with contextlib.suppress(TimeoutError, *CONNECTION_ERRORS):
                async with asyncio.timeout(TLS_CLOSE_TIMEOUT):
                    await writer.wait_closed()
    finally:  # cancelled too (a reader being stopped): never leave the socket open
        if tls and writer is not None:
            writer.transport.abort()  # a no-op once closed; else the TCP socket under TLS


def transport_of(conn: AbstractConnection) -> asyncio.WriteTransport:
    """The socket transport of the connected ``conn``, to write to it directly.

    ``transport.write()`` takes a whole command at once and never blocks, so
    a caller cancelled afterwards cannot leave half a command on the wire
    (redis-py's ``send_packed_command`` awaits ``drain()`` and drops the
    connection for everyone when that await is cancelled). redis-py 5 to 8
    keep the stream writer in ``_writer``.
    """
    writer: asyncio.StreamWriter | None = getattr(conn, "_writer", None)
    if writer is None:
        raise RedisConnectionError("the connection is not open")
    return writer.transport


def abort(conn: AbstractConnection) -> None:
    """Close ``conn``'s socket now, discarding what is still buffered for sending.

    A plain close waits for the buffer to flush, which against a frozen
    server (SIGSTOP, a full TCP window) is forever; the connection is being
    given up anyway. Follow with :func:`disconnect` to reset redis-py's state.
    """
    writer: asyncio.StreamWriter | None = getattr(conn, "_writer", None)
    if writer is not None:
        writer.transport.abort()
