"""What the Redis plumbing treats as a broken connection, and the error callers see.

One place for the classification every background task and call path uses:
``CONNECTION_ERRORS`` means the connection is gone or silent (drop it,
reconnect); ``RETRYABLE`` is what a retry may cure without a new
connection's help; anything else is an error reply or a bug, which a
background task logs and survives.
"""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ....exceptions import ChannelLayerConnectionError

#: What a broken connection raises, in redis-py or from the socket.
CONNECTION_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
#: Errors a retry on a fresh connection may cure (an outage, a failover in progress).
RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError, ReadOnlyError)


def unreachable(where: str, problem: str, note: str = "") -> ChannelLayerConnectionError:
    """The one error every Redis layer raises when a server is away or silent.

    ``problem`` completes "Redis at <where> ...", e.g. ``"is unreachable (reason)"``
    or ``"did not answer within 10.0s"``; ``note`` says what it means for the caller.
    """
    return ChannelLayerConnectionError(
        f"Redis at {where} {problem}. Check that it is running (redis-cli ping) and the "
        f"URL is right; the layer reconnects by itself once it answers.{note and ' ' + note}"
    )
