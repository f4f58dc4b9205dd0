"""The samples of the Scaling out guide, against a real redis-server that goes away."""

from __future__ import annotations

import asyncio

import pytest
from fast_channels.layers import register_channel_layer
from fast_channels.layers.redis import RedisPubSubChannelLayer
from fast_channels.testing import WebsocketCommunicator

from sandbox.redis_process import RedisProcess

from .conftest import example

pytestmark = pytest.mark.redis


async def test_failover_consumer_answers_a_failed_send_and_keeps_the_socket(
    redis_server: RedisProcess,
) -> None:
    failover = example("failover_consumer")
    resubscribed = asyncio.Event()
    layer = RedisPubSubChannelLayer(
        hosts=[redis_server.url], prefix="docs-failover", on_reconnect=resubscribed.set
    )
    register_channel_layer("board", layer)
    app = failover.BoardConsumer.as_asgi()
    ann, bob = WebsocketCommunicator(app, "/ws/board"), WebsocketCommunicator(app, "/ws/board")
    assert (await ann.connect())[0] and (await bob.connect())[0]

    await ann.send_json_to({"text": "before"})
    for ws in (ann, bob):
        assert await ws.receive_json_from(timeout=5) == {"type": "post", "text": "before"}

    redis_server.kill()  # Redis gone: the send fails, the socket stays open
    await ann.send_json_to({"text": "during"})
    assert await ann.receive_json_from(timeout=5) == {"type": "not_sent", "text": "during"}
    assert await bob.receive_nothing(timeout=0.2)

    redis_server.start()  # back on the same port: the same layer object works again
    await asyncio.wait_for(resubscribed.wait(), 15)  # every subscription is back
    await ann.send_json_to({"text": "after"})
    for ws in (ann, bob):
        assert await ws.receive_json_from(timeout=5) == {"type": "post", "text": "after"}
    await ann.disconnect()
    await bob.disconnect()
    await layer.close()
