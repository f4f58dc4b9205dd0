"""RedisPubSubChannelLayer against a real Redis: what it costs Redis, and bounded buffers.

Behaviour shared with the other layers lives in tests/contract/.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from fast_channels.layers.redis import RedisPubSubChannelLayer

from sandbox.redis_process import RedisProcess

pytestmark = pytest.mark.redis


@pytest.fixture
async def inspector(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client to look at what the layer did in Redis."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"ps{uuid.uuid4().hex[:10]}"


async def subscribers(client: aioredis.Redis, name: str) -> int:
    counts = await client.pubsub_numsub(name)
    return int(counts[0][1])


async def settled_subscribers(client: aioredis.Redis, name: str, expected: int) -> int:
    """``subscribers()`` once it equals ``expected``, or after 5 s.

    UNSUBSCRIBE is fire-and-forget (group_discard does not wait for Redis), so on
    a loaded machine another connection's NUMSUB may be served first.
    """
    for _ in range(100):
        count = await subscribers(client, name)
        if count == expected:
            break
        await asyncio.sleep(0.05)
    return count


async def publish_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


async def test_group_send_is_one_publish_and_one_subscription_per_process(
    redis_server: RedisProcess,
) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        async with RedisPubSubChannelLayer(hosts=[redis_server.url], prefix="p") as layer:
            members = [await layer.new_channel() for _ in range(50)]
            for channel in members:
                await layer.group_add("room", channel)
            assert await subscribers(client, "p:group:room") == 1
            before = await publish_calls(client)
            await layer.group_send("room", {"type": "hi"})
            assert await publish_calls(client) == before + 1
            for channel in members:
                assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "hi"}
            # 50 channels and a group, one subscriber connection.
            clients = await client.client_list()
            assert sum(1 for c in clients if int(c["sub"]) > 0) == 1
            # Leaving: the subscription goes with the last local member.
            for channel in members[:-1]:
                await layer.group_discard("room", channel)
            assert await subscribers(client, "p:group:room") == 1
            await layer.group_discard("room", members[-1])
            assert await settled_subscribers(client, "p:group:room", 0) == 0
    finally:
        await client.aclose()


async def test_two_processes_share_groups(redis_url: str, prefix: str) -> None:
    # Two layer objects stand for two processes: each has its own subscriber connection.
    async with (
        RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix) as one,
        RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix) as two,
    ):
        a, b = await one.new_channel(), await two.new_channel()
        await one.group_add("room", a)
        await two.group_add("room", b)
        await one.group_send("room", {"type": "both"})
        assert await asyncio.wait_for(one.receive(a), 5) == {"type": "both"}
        assert await asyncio.wait_for(two.receive(b), 5) == {"type": "both"}
        await two.send(a, {"type": "direct"})  # a process-local name of the other process
        assert await asyncio.wait_for(one.receive(a), 5) == {"type": "direct"}


async def test_a_slow_consumer_keeps_the_newest_messages_only(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix, capacity=10) as layer:
        channel = await layer.new_channel()
        other = await layer.new_channel()
        with caplog.at_level(logging.WARNING):
            for i in range(1000):
                await layer.send(channel, {"type": "tick", "i": i, "pad": "x" * 1000})
            await layer.send(other, {"type": "marker"})
            # The marker went out after every tick, so every tick has been buffered.
            assert await asyncio.wait_for(layer.receive(other), 5) == {"type": "marker"}
        assert layer.dropped_messages == 990
        drop_warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert len(drop_warnings) == 1  # rate limited, not one line per message
        got = [(await layer.receive(channel))["i"] for _ in range(10)]
        assert got == list(range(990, 1000))
        await layer.send(channel, {"type": "fresh"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "fresh"}


async def test_receive_on_a_plain_name_subscribes_on_first_use(
    redis_url: str, prefix: str, inspector: aioredis.Redis
) -> None:
    async with RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix) as layer:
        await layer.send("worker", {"type": "nobody.listens"})  # fire-and-forget: gone
        waiting = asyncio.create_task(layer.receive("worker"))
        for _ in range(500):  # until the receive() has subscribed
            if await subscribers(inspector, f"{prefix}:worker"):
                break
            await asyncio.sleep(0.01)
        await layer.send("worker", {"type": "job"})
        assert await asyncio.wait_for(waiting, 5) == {"type": "job"}


async def test_an_abandoned_channel_is_released(
    redis_url: str, prefix: str, inspector: aioredis.Redis
) -> None:
    async with RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix) as layer:
        layer.release_after = 0.1
        kept, gone = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room", kept)
        await layer.group_add("room", gone)
        consumer = asyncio.create_task(layer.receive(gone))
        await asyncio.sleep(0.02)
        consumer.cancel()  # what a consumer does when its WebSocket closes
        await asyncio.sleep(0.4)
        assert await subscribers(inspector, f"{prefix}:{gone}") == 0
        assert await subscribers(inspector, f"{prefix}:{kept}") == 1
        await layer.group_send("room", {"type": "still.there"})
        assert await asyncio.wait_for(layer.receive(kept), 5) == {"type": "still.there"}
        await layer.group_discard("room", kept)
        assert await subscribers(inspector, f"{prefix}:group:room") == 0


async def test_payloads_are_encrypted_in_redis(
    redis_url: str, prefix: str, inspector: aioredis.Redis
) -> None:
    async with RedisPubSubChannelLayer(
        hosts=[redis_url], prefix=prefix, symmetric_encryption_keys=["s3cret"], serializer="json"
    ) as layer:
        channel = await layer.new_channel()
        spy = inspector.pubsub()
        await spy.subscribe(f"{prefix}:{channel}")
        await layer.send(channel, {"type": "secret", "text": "plaintext-marker"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {
            "type": "secret",
            "text": "plaintext-marker",
        }
        raw = None
        while raw is None:
            raw = await spy.get_message(ignore_subscribe_messages=True, timeout=5)
        assert b"plaintext-marker" not in raw["data"]
        await spy.aclose()


async def test_two_shards_each_get_one_subscriber(redis_server: RedisProcess) -> None:
    with RedisProcess() as second:
        urls = [redis_server.url, second.url]
        async with RedisPubSubChannelLayer(hosts=urls, prefix="p") as layer:
            channels = [await layer.new_channel() for _ in range(20)]
            for index, channel in enumerate(channels):
                await layer.group_add(f"g{index}", channel)
                await layer.send(channel, {"type": "direct", "i": index})
                await layer.group_send(f"g{index}", {"type": "group", "i": index})
            for index, channel in enumerate(channels):
                got = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(2)]
                # The channel and the group may live on different shards (connections),
                # so only messages through one shard keep their relative order.
                assert sorted(got, key=lambda m: m["type"]) == [
                    {"type": "direct", "i": index},
                    {"type": "group", "i": index},
                ]
            per_shard = []
            for url in urls:
                client = aioredis.Redis.from_url(url)
                subscribed = [int(c["sub"]) for c in await client.client_list() if int(c["sub"])]
                await client.aclose()
                assert len(subscribed) == 1  # one subscriber connection per shard
                per_shard.append(subscribed[0])
            assert sum(per_shard) == 40  # 20 channels + 20 groups, spread over both
            assert min(per_shard) > 0


async def test_decode_responses_in_connection_kwargs_is_harmless(
    redis_url: str, prefix: str
) -> None:
    # The layer's own connections always read bytes; a user's option must not break it.
    async with RedisPubSubChannelLayer(
        hosts=[redis_url], prefix=prefix, connection_kwargs={"decode_responses": True}
    ) as layer:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "bytes", "raw": b"\xff\x00"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {
            "type": "bytes",
            "raw": b"\xff\x00",
        }
