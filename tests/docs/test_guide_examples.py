"""The samples of the Channel Layer Setup Guide, run against real Redis servers."""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from types import ModuleType
from typing import Any

import pytest
import redis.asyncio as aioredis
from fast_channels.exceptions import ChannelFull, ChannelLayerConnectionError
from fast_channels.layers import (
    BaseChannelLayer,
    InMemoryChannelLayer,
    get_channel_layer,
    registered_aliases,
)

from sandbox.redis_process import RedisProcess

from .conftest import EXAMPLES, SentinelCluster, example, run_script

redis_test = pytest.mark.redis


def fresh(name: str) -> ModuleType:
    """Re-import an example so module-level settings read the current environment."""
    return importlib.reload(example(name))


async def round_trip(layer: BaseChannelLayer, **extra: Any) -> None:
    """A message sent to a fresh channel comes back out of it, unchanged."""
    channel = await layer.new_channel()
    message = {"type": "docs.check", **extra}
    await layer.send(channel, message)
    assert await asyncio.wait_for(layer.receive(channel), 5) == message


def test_registry_tour_prints_what_the_page_shows() -> None:
    expected = (EXAMPLES / "registry_tour.out").read_text()
    assert run_script("docs/examples/registry_tour.py") == expected


def test_building_layers_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 1: constructing must still succeed (connections are lazy).
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")
    layer_types = fresh("layer_types")
    layer_types.memory_layer()
    layer_types.queue_layer()
    layer_types.pubsub_layer()


@redis_test
async def test_each_layer_type_delivers(redis_env: str) -> None:
    layer_types = fresh("layer_types")
    queue = layer_types.queue_layer()
    assert (queue.prefix, queue.expiry, queue.capacity) == ("shop", 300, 500)
    for factory in (layer_types.memory_layer, layer_types.queue_layer, layer_types.pubsub_layer):
        async with factory() as layer:
            await round_trip(layer, kind=type(layer).__name__)


@redis_test
async def test_multiple_layers_registers_one_layer_per_purpose(redis_env: str) -> None:
    multiple = example("multiple_layers")
    multiple.setup_channel_layers()
    first = {alias: get_channel_layer(alias) for alias in registered_aliases()}
    multiple.setup_channel_layers()  # the has_layers() guard: nothing changes
    assert {alias: get_channel_layer(alias) for alias in registered_aliases()} == first
    assert sorted(first) == ["local", "orders", "presence"]
    assert type(first["local"]) is InMemoryChannelLayer
    assert type(first["presence"]).__name__ == "RedisPubSubChannelLayer"
    assert type(first["orders"]).__name__ == "RedisChannelLayer"
    for layer in first.values():
        await round_trip(layer)
        await layer.close()


async def test_env_layers_uses_memory_under_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    env_layers = example("env_layers")
    env_layers.setup_channel_layers()
    assert type(get_channel_layer("default")) is InMemoryChannelLayer


def test_env_layers_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "staging")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(RuntimeError, match="APP_ENV=staging needs REDIS_URL"):
        example("env_layers").build_default_layer()


@redis_test
async def test_env_layers_uses_redis_elsewhere(
    redis_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)  # "development"
    example("env_layers").setup_channel_layers()
    layer = get_channel_layer("default")
    assert type(layer).__name__ == "RedisChannelLayer"
    assert layer.prefix == "shop-development"
    async with layer:
        await round_trip(layer)


@redis_test
async def test_send_from_worker_script_reaches_the_consumer_channel(redis_env: str) -> None:
    from fast_channels.layers.redis import RedisChannelLayer

    # The "web app" side: a consumer's channel on a layer with the same hosts and prefix.
    async with RedisChannelLayer(hosts=[redis_env], prefix="shop") as layer:
        channel = await layer.new_channel()
        # A real separate process, run the way the page says.
        run_script("docs/examples/send_from_worker.py", channel, "exp-42")
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message == {
            "type": "export.ready",
            "export_id": "exp-42",
            "url": "/exports/exp-42",
        }

        # And from synchronous code in a thread that has no event loop.
        worker = threading.Thread(
            target=example("send_from_worker").export_ready_sync, args=(channel, "exp-43")
        )
        worker.start()
        message = await asyncio.wait_for(layer.receive(channel), 5)
        await asyncio.to_thread(worker.join)
        assert message["export_id"] == "exp-43"

        # The async_to_sync habit, from a thread too.
        send = example("send_from_worker").export_ready_async_to_sync
        await asyncio.to_thread(send, channel, "exp-44")
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message["export_id"] == "exp-44"


async def stored_values(redis_url: str) -> list[bytes]:
    """Every value of every key in the Redis, whatever the key's type."""
    values: list[bytes] = []
    client = aioredis.Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter():
            kind = (await client.type(key)).decode()
            if kind == "string":
                values.append(await client.get(key))
            elif kind == "list":
                values += await client.lrange(key, 0, -1)
            elif kind == "zset":
                values += await client.zrange(key, 0, -1)
            elif kind == "set":
                values += list(await client.smembers(key))
            elif kind == "hash":
                values += list((await client.hgetall(key)).values())
            elif kind == "stream":
                for _, fields in await client.xrange(key):
                    values += list(fields.values())
    finally:
        await client.aclose()
    return values


@redis_test
async def test_encrypted_layer_stores_ciphertext_and_rotates_keys(
    redis_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    encryption = example("encryption")
    secret = "the launch code is 0000"

    monkeypatch.setenv("CHANNEL_LAYER_KEYS", "old-key")
    async with encryption.encrypted_layer() as old:
        await old.flush()
        # A plain channel name: any process (any layer object) may read it.
        channel = "vault.inbox"
        await old.send(channel, {"type": "vault.note", "text": secret})
        stored = await stored_values(redis_env)
        assert stored, "the message should be waiting in Redis"
        assert not any(secret.encode() in value for value in stored)

        # Rotation step 1: new key first, old key still accepted.
        monkeypatch.setenv("CHANNEL_LAYER_KEYS", "new-key, old-key")
        async with encryption.encrypted_layer() as rotated:
            assert (await asyncio.wait_for(rotated.receive(channel), 5))["text"] == secret
            await rotated.send(channel, {"type": "vault.note", "text": "written with new"})

        # Step 2: old key dropped; what the rotated layer wrote still reads.
        monkeypatch.setenv("CHANNEL_LAYER_KEYS", "new-key")
        async with encryption.encrypted_layer() as new:
            message = await asyncio.wait_for(new.receive(channel), 5)
            assert message["text"] == "written with new"
            await new.flush()


@redis_test
async def test_capacity_patterns_and_channel_full(redis_env: str) -> None:
    capacity = example("capacity")
    async with capacity.bounded_layer() as layer:
        await layer.flush()
        assert layer.get_capacity("ticker.eur") == 1000
        assert layer.get_capacity("audit.login") == 5000
        assert layer.get_capacity("orders.42") == 100

        channel = "feeds.slow-reader"
        for n in range(100):
            await layer.send(channel, {"type": "feed.item", "n": str(n)})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "feed.item", "n": "overflow"})
        # Nobody reads: send_with_retry gives up and says so.
        assert await capacity.send_with_retry(layer, channel, {"type": "feed.item"}) is False

        # A reader catches up while the sender backs off: the send fits.
        async def read_one_soon() -> None:
            await asyncio.sleep(0.02)
            await layer.receive(channel)

        reader = asyncio.create_task(read_one_soon())
        fits = await capacity.send_with_retry(layer, channel, {"type": "feed.item", "n": "late"})
        await reader
        assert fits is True
        await layer.flush()


@redis_test
@pytest.mark.slow
async def test_expired_messages_are_never_delivered(redis_env: str) -> None:
    expiry = example("expiry")
    async with expiry.short_lived_layer() as layer:
        assert (layer.expiry, layer.group_expiry) == (5, 3600)
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "quote", "price": "stale"})
        await asyncio.sleep(5.5)  # the example's expiry is 5 s
        await layer.send(channel, {"type": "quote", "price": "fresh"})
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message["price"] == "fresh"


@redis_test
async def test_sharded_layer_spreads_keys_over_every_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RedisProcess() as first, RedisProcess() as second:
        monkeypatch.setenv("REDIS_SHARDS", f"{first.url}, {second.url}")
        sharding = example("sharding")
        async with sharding.sharded_layer() as sender, sharding.sharded_layer() as receiver:
            groups = [f"room.{n}" for n in range(20)]
            channel = await receiver.new_channel()
            for group in groups:
                await receiver.group_add(group, channel)
            for group in groups:
                await sender.group_send(group, {"type": "room.msg", "group": group})
            got = {(await asyncio.wait_for(receiver.receive(channel), 5))["group"] for _ in groups}
            assert got == set(groups)
            for server in (first, second):
                client = aioredis.Redis.from_url(server.url)
                try:
                    assert await client.dbsize() > 0, f"nothing stored on {server.url}"
                finally:
                    await client.aclose()


@redis_test
@pytest.mark.slow
async def test_pubsub_callbacks_fire_and_delivery_resumes(
    redis_server: RedisProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    reconnect = example("pubsub_reconnect")
    caplog.set_level(logging.WARNING, logger="myapp.layers")

    # Wrap the example's callbacks to learn when the layer calls them.
    lost, back = asyncio.Event(), asyncio.Event()
    redis_lost, redis_back = reconnect.redis_lost, reconnect.redis_back

    async def on_lost() -> None:
        await redis_lost()
        lost.set()

    async def on_back() -> None:
        await redis_back()
        back.set()

    monkeypatch.setattr(reconnect, "redis_lost", on_lost)
    monkeypatch.setattr(reconnect, "redis_back", on_back)

    async with reconnect.live_layer() as layer:
        channel = await layer.new_channel()
        await round_trip(layer)
        redis_server.kill()
        await asyncio.wait_for(lost.wait(), 10)
        assert not back.is_set()
        with pytest.raises(ChannelLayerConnectionError):  # as the guide says: at once
            await layer.send(channel, {"type": "live.update", "n": 0})
        redis_server.start()
        await asyncio.wait_for(back.wait(), 10)
        await layer.send(channel, {"type": "live.update", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("live updates paused" in m for m in messages)
    assert any("live updates resumed" in m for m in messages)


@redis_test
@pytest.mark.slow
async def test_sentinel_layer_follows_a_failover(
    sentinel_cluster: SentinelCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = ",".join(f"{host}:{port}" for host, port in sentinel_cluster.sentinels)
    monkeypatch.setenv("REDIS_SENTINELS", addresses)
    monkeypatch.setenv("REDIS_SENTINEL_SERVICE", sentinel_cluster.service_name)
    monkeypatch.delenv("REDIS_SENTINEL_PASSWORD", raising=False)
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    sentinel = example("sentinel_layer")
    assert sentinel.parse_sentinels("a:1, b:2") == [("a", 1), ("b", 2)]

    async with sentinel.sentinel_layer() as layer:
        assert (layer.prefix, layer.expiry, layer.capacity) == ("orders", 600, 2000)
        await round_trip(layer)

        # As the guide says: the same layer object works again once a replica is promoted.
        sentinel_cluster.master.kill()
        await asyncio.to_thread(sentinel_cluster.wait_for_promotion)
        channel = await layer.new_channel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while True:
            try:
                await layer.send(channel, {"type": "docs.check", "after": "failover"})
                break
            except ChannelLayerConnectionError:  # what the guide says calls raise meanwhile
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)
        message = await asyncio.wait_for(layer.receive(channel), 15)
        assert message == {"type": "docs.check", "after": "failover"}


@redis_test
async def test_serializer_choices_round_trip(redis_env: str) -> None:
    serializers = fresh("custom_serializer")
    report = {"type": "report.ready", "rows": [f"row {n}" for n in range(200)]}

    async with serializers.readable_layer() as readable:
        await readable.send("debug.inbox", {"type": "debug.note", "text": "plain to see"})
        assert any(b'"plain to see"' in value for value in await stored_values(redis_env))
        assert (await asyncio.wait_for(readable.receive("debug.inbox"), 5))["type"] == "debug.note"

    async with serializers.compressed_layer() as compressed:
        await compressed.send("reports.inbox", report)
        stored = await stored_values(redis_env)
        assert not any(b"row 199" in value for value in stored)  # compressed in Redis
        assert await asyncio.wait_for(compressed.receive("reports.inbox"), 5) == report
        with pytest.raises(TypeError, match="set"):
            await compressed.send("reports.inbox", {"type": "bad", "value": {1, 2}})
