"""Dedicated connections (pipes, subscribers, inbox readers) and the error they raise.

These bypass the pool on purpose (see :mod:`.pipe` and :mod:`.subscriber`):
each is long-lived, owned by one reader task, and checked by a watchdog or a
deadline instead of per-command timeouts.
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

from ...exceptions import ChannelLayerConnectionError

#: Seconds to connect, including the handshake (AUTH, SELECT, CLIENT SETINFO);
#: a frozen server accepts TCP connections but never answers the handshake.
CONNECT_TIMEOUT = 5.0
#: What a broken connection raises, in redis-py or from the socket.
CONNECTION_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def dedicated_connection(pool: Any) -> AbstractConnection:
    """A fresh connection built like ``pool``'s, for a pipe, a subscriber or a reader.

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


def unreachable(where: str, problem: str, note: str = "") -> ChannelLayerConnectionError:
    """The one error every Redis layer raises when a server is away or silent.

    ``problem`` completes "Redis at <where> ...", e.g. ``"is unreachable (reason)"``
    or ``"did not answer within 10.0s"``; ``note`` says what it means for the caller.
    """
    return ChannelLayerConnectionError(
        f"Redis at {where} {problem}. Check that it is running (redis-cli ping) and the "
        f"URL is right; the layer reconnects by itself once it answers.{note and ' ' + note}"
    )


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
    """Drop ``conn`` without waiting for the peer; never raises for a broken socket."""
    with contextlib.suppress(*CONNECTION_ERRORS):
        await conn.disconnect(nowait=True)
