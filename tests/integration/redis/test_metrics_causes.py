"""The Redis layers' counters move for each cause, against a real redis-server."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
import redis
from fast_channels.exceptions import ChannelFull
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from .conftest import QueueLayerFactory

pytestmark = pytest.mark.redis


async def test_queue_counts_sends_receives_full_channels_and_latency(
    make_queue_layer: QueueLayerFactory,
) -> None:
    layer = make_queue_layer(capacity=1)
    await layer.send("named", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("named", {"type": "m"})
    assert await layer.receive("named") == {"type": "m"}
    local = await layer.new_channel()
    await layer.group_add("room", local)
    await layer.group_add("room", "elsewhere!gone")  # never read: full after one message
    await layer.group_send("room", {"type": "g"})
    await layer.group_send("room", {"type": "g"})
    assert await layer.receive(local) == {"type": "g"}
    stats = layer.stats()
    assert (stats.messages_sent, stats.messages_received) == (1, 2)
    # The first group_send reaches both members; the second finds both full (ours
    # counts until it is received).
    assert (stats.group_sends, stats.group_deliveries) == (2, 2)
    assert stats.drops["channel_full"] == 1 + 2  # the send, and the two members
    assert stats.memberships == 2 and stats.groups == 1  # process-local names, held here
    [link] = stats.links
    assert link.connected and link.reconnects == 0
    assert link.latency is not None and link.latency.count >= 6  # every short call


async def test_queue_counts_expired_and_undecodable_messages(
    make_queue_layer: QueueLayerFactory,
) -> None:
    layer = make_queue_layer(expiry=1, symmetric_encryption_keys=["ours"])
    stranger = make_queue_layer(expiry=1, symmetric_encryption_keys=["theirs"])
    channel = await layer.new_channel()
    await stranger.send(channel, {"type": "sealed.elsewhere"})
    await layer.send(channel, {"type": "ok"})
    assert await layer.receive(channel) == {"type": "ok"}
    assert layer.stats().drops["undecodable"] == 1
    await layer.send(channel, {"type": "late"})  # buffered here, never received in time
    await asyncio.sleep(1.1)
    await layer.send(channel, {"type": "fresh"})
    assert await layer.receive(channel) == {"type": "fresh"}
    assert layer.stats().drops["expired"] == 1


async def test_pubsub_counts_no_subscriber_full_buffers_and_undecodable(redis_url: str) -> None:
    prefix = f"m{uuid.uuid4().hex[:8]}"
    layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix, capacity=1)
    async with layer:
        await layer.send("nobody.listens", {"type": "m"})
        await layer.group_send("empty-group", {"type": "m"})
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        for i in range(3):  # nobody receives yet: a buffer of one keeps the newest
            await layer.group_send("room", {"type": "m", "i": i})
        with redis.Redis.from_url(redis_url) as raw:  # not msgpack of a dict
            raw.publish(f"{prefix}:{channel}", b"\x01")
        await layer.send(channel, {"type": "last"})
        await _until(lambda: layer.stats().drops["channel_full"] >= 3)
        assert await layer.receive(channel) == {"type": "last"}
        stats = layer.stats()
        assert stats.drops["no_subscriber"] == 2
        assert (stats.messages_sent, stats.group_sends, stats.group_deliveries) == (2, 4, 3)
        assert (stats.subscriptions, stats.buffers, stats.memberships) == (2, 1, 1)


async def test_pubsub_counts_an_undecodable_message(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = f"m{uuid.uuid4().hex[:8]}"
    async with RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix) as layer:
        channel = await layer.new_channel()
        with redis.Redis.from_url(redis_url) as raw, caplog.at_level(logging.ERROR):
            raw.publish(f"{prefix}:{channel}", b"\x01")
        await layer.send(channel, {"type": "ok"})
        assert await layer.receive(channel) == {"type": "ok"}
        assert layer.stats().drops["undecodable"] == 1
        assert layer.stats().messages_received == 1


async def _until(check: object, within: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not true in time")
        await asyncio.sleep(0.01)


def test_layers_share_the_stats_shape() -> None:
    queue = RedisChannelLayer().stats()
    pubsub = RedisPubSubChannelLayer().stats()
    assert queue.links == pubsub.links == ()  # nothing connected at construction
    assert queue.drops.keys() == pubsub.drops.keys()
