"""Dedicated connections for the pub/sub layer's subscriber and publisher.

These bypass the pool on purpose (see :mod:`.publisher` and :mod:`.subscriber`):
each is long-lived, owned by one reader task, and checked by a watchdog
instead of per-command timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Seconds to connect, including the handshake (AUTH, SELECT, CLIENT SETINFO);
#: a frozen server accepts TCP connections but never answers the handshake.
CONNECT_TIMEOUT = 5.0
#: What a broken connection raises, in redis-py or from the socket.
CONNECTION_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def dedicated_connection(pool: Any) -> AbstractConnection:
    """A fresh connection built like ``pool``'s, for a subscriber or a publisher.

    Works for plain and Sentinel pools (a Sentinel connection asks the
    sentinels for the current master each time it connects). It does not
    retry by itself (callers decide), never arms a timeout around reads or
    writes (a subscription is quiet by nature, and per-command timers are
    the cost we avoid; watchdogs check liveness instead), and returns raw bytes.
    """
    options = {
        **pool.connection_kwargs,
        "retry": Retry(NoBackoff(), 0),
        "socket_timeout": None,
        "health_check_interval": 0,
        "decode_responses": False,
    }
    connection: AbstractConnection = pool.connection_class(**options)
    return connection


async def connect(conn: AbstractConnection) -> None:
    """Connect within :data:`CONNECT_TIMEOUT`; raise one of :data:`CONNECTION_ERRORS`."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    except TimeoutError:
        raise RedisTimeoutError(
            f"no answer to the connection handshake within {CONNECT_TIMEOUT}s"
        ) from None


async def disconnect(conn: AbstractConnection) -> None:
    """Drop ``conn`` without waiting for the peer; never raises for a broken socket."""
    with contextlib.suppress(*CONNECTION_ERRORS):
        await conn.disconnect(nowait=True)
