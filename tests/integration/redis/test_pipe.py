"""The pipelined connection both Redis layers send their short calls through."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError, RedisReplyError
from fast_channels.layers.redis._transport.connections import RedisConnections
from fast_channels.layers.redis._transport.pipe import pack
from redis.exceptions import ResponseError

from sandbox.redis_process import RedisProcess

pytestmark = pytest.mark.redis


def connections(url: str) -> RedisConnections:
    return RedisConnections.from_arguments(
        url,
        sentinels=None,
        service_name=None,
        sentinel_kwargs=None,
        connection_kwargs=None,
        reply_timeout=5.0,
    )


async def test_an_error_reply_fails_only_its_own_call(redis_url: str) -> None:
    conns = connections(redis_url)
    pipe = conns.pipe(0)
    try:
        replies = await asyncio.gather(
            pipe.call(pack(b"PING")),
            pipe.call(pack(b"NO-SUCH-COMMAND")),
            pipe.call(pack(b"ECHO", b"still in order")),
            return_exceptions=True,
        )
        assert replies[0] == b"PONG"
        assert isinstance(replies[1], RedisReplyError)  # the library's, not redis-py's
        assert isinstance(replies[1].__cause__, ResponseError)
        assert replies[2] == b"still in order"
    finally:
        await conns.close()


async def test_a_cancelled_call_does_not_shift_the_replies(redis_url: str) -> None:
    conns = connections(redis_url)
    pipe = conns.pipe(0)
    try:
        slow = asyncio.ensure_future(pipe.call(pack(b"BLPOP", f"empty:{uuid.uuid4()}", 0.3)))
        await asyncio.sleep(0.05)  # written, waiting for its reply
        slow.cancel()
        assert await pipe.call(pack(b"ECHO", b"mine")) == b"mine"
    finally:
        await conns.close()


async def test_calls_fail_clearly_while_redis_is_away_then_reconnect(
    redis_server: RedisProcess,
) -> None:
    conns = connections(redis_server.url)
    pipe = conns.pipe(0)
    try:
        assert await pipe.call(pack(b"PING")) == b"PONG"
        redis_server.kill()
        with pytest.raises(ChannelLayerConnectionError, match="redis-cli ping"):
            await pipe.call(pack(b"PING"))
        redis_server.start()
        assert await pipe.call(pack(b"PING")) == b"PONG"
    finally:
        await conns.close()
