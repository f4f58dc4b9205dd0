"""Pub/sub consumers free their subscriptions at once when they stop, however they stop.

Counted from outside with ``PUBSUB CHANNELS``, and inside by the layer's inboxes.
Nothing here lowers ``release_after``: consumers say "this channel is done"
through ``release_channel()``, so nothing waits for the 30 s grace period.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, ClassVar

import pytest
import redis.asyncio as aioredis
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import register_channel_layer
from fast_channels.layers.redis import RedisPubSubChannelLayer
from fast_channels.testing import WebsocketCommunicator

pytestmark = pytest.mark.redis
CONSUMERS = 50


class FailingConsumer(AsyncWebsocketConsumer):
    """Its layer-message handler raises: the consumer closes with 1011."""

    groups: ClassVar[list[str]] = ["room"]

    async def room_boom(self, event: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")


async def subscriptions(client: aioredis.Redis, prefix: str, expected: int) -> int:
    """Subscribed channels of ``prefix``, once the count reaches ``expected`` (at most 5 s).

    UNSUBSCRIBE is not confirmed synchronously, so the server may lag a little.
    """
    deadline = time.monotonic() + 5
    while True:
        count = len(await client.pubsub_channels(f"{prefix}:*"))
        if count <= expected or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.05)


@pytest.fixture
async def layer(redis_url: str) -> Any:
    made = RedisPubSubChannelLayer(hosts=[redis_url], prefix=f"rel{uuid.uuid4().hex[:8]}")
    register_channel_layer("default", made)
    try:
        yield made
    finally:
        await made.close()


async def test_handler_errors_leave_no_subscription(
    layer: RedisPubSubChannelLayer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)  # 50 expected tracebacks of the handler bug
    inspector = aioredis.Redis.from_url(redis_url)
    communicators = [
        WebsocketCommunicator(FailingConsumer.as_asgi(), "/") for _ in range(CONSUMERS)
    ]
    try:
        for communicator in communicators:
            assert (await communicator.connect())[0]
        assert await subscriptions(inspector, layer.prefix, CONSUMERS + 1) == CONSUMERS + 1
        await layer.group_send("room", {"type": "room.boom"})
        for communicator in communicators:
            closed = await communicator.receive_output(timeout=5)
            assert closed == {"type": "websocket.close", "code": 1011}
            await communicator.wait(timeout=5)
        assert await subscriptions(inspector, layer.prefix, 0) == 0
        assert layer._state().inboxes == {}
        assert layer._state().routes == {}
    finally:
        await inspector.aclose()


async def test_clean_disconnects_release_at_once(
    layer: RedisPubSubChannelLayer, redis_url: str
) -> None:
    inspector = aioredis.Redis.from_url(redis_url)
    try:
        for _ in range(CONSUMERS):
            communicator = WebsocketCommunicator(FailingConsumer.as_asgi(), "/")
            assert (await communicator.connect())[0]
            await communicator.disconnect()
        assert layer.release_after == 30.0  # the grace period did not do this
        assert await subscriptions(inspector, layer.prefix, 0) == 0
        assert layer._state().inboxes == {}
    finally:
        await inspector.aclose()


@pytest.mark.slow
async def test_churn_of_released_channels_leaves_nothing_behind(
    layer: RedisPubSubChannelLayer, redis_url: str
) -> None:
    """10,000 short-lived channels, each released when done (half after a cancelled receive)."""
    psutil = pytest.importorskip("psutil")
    inspector = aioredis.Redis.from_url(redis_url)
    try:

        async def sizes() -> dict[str, int]:
            state = layer._state()
            return {
                "inboxes": len(state.inboxes),
                "routes": len(state.routes),
                "subscriptions": len(await inspector.pubsub_channels(f"{layer.prefix}:*")),
                "rss_mb": psutil.Process().memory_info().rss // 2**20,
            }

        await layer.new_channel()  # the loop's state exists before the first sample
        before = await sizes()
        for i in range(10_000):
            channel = await layer.new_channel()
            await layer.group_add("room", channel)
            await layer.send(channel, {"type": "hello", "i": i})
            assert (await asyncio.wait_for(layer.receive(channel), 5))["i"] == i
            if i % 2:  # a consumer whose last receive() was cancelled as it stopped
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(layer.receive(channel), 0.001)
            await layer.release_channel(channel)
        after = await sizes()
        after["subscriptions"] = await subscriptions(
            inspector, layer.prefix, before["subscriptions"]
        )
        print(f"\nchurn of 10,000 released pub/sub channels: before {before}\nafter {after}")
        for name in ("inboxes", "routes", "subscriptions"):
            assert after[name] == before[name], name
    finally:
        await inspector.aclose()
