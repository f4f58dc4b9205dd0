"""RedisChannelLayer when Redis goes away: restarts, empty comebacks, Sentinel failover."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any

import pytest
import redis
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers import get_channel_layer, register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer
from fast_channels.layers.redis.queue import guard

from sandbox.redis_process import RedisProcess

from .conftest import QueueLayerFactory, SentinelCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def until_delivered(
    layer: RedisChannelLayer, group: str, waiter: asyncio.Task[Any], within: float
) -> float:
    """group_send every 50 ms until ``waiter`` got a message; return the seconds it took."""
    start = time.monotonic()
    while not waiter.done():
        if time.monotonic() - start > within:
            raise AssertionError(f"nothing delivered to {group!r} within {within}s")
        with contextlib.suppress(ChannelLayerConnectionError):  # not back yet
            await layer.group_send(group, {"type": "after.outage"})
        await asyncio.wait({waiter}, timeout=0.05)
    return time.monotonic() - start


async def test_restart_without_persistence_heals_groups(
    make_queue_layer: QueueLayerFactory, redis_server: RedisProcess
) -> None:
    layer = make_queue_layer(hosts=[redis_server.url])
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "before"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "before"}
    waiter = asyncio.create_task(layer.receive(channel))  # a connected consumer waits

    redis_server.kill()
    for call in (
        layer.send("named.x", {"type": "during"}),
        layer.group_send("room", {"type": "during"}),
        layer.group_add("room", "named.x"),
        layer.receive("named.x"),
    ):
        start = time.monotonic()
        with pytest.raises(ChannelLayerConnectionError, match="redis-cli ping"):
            await asyncio.wait_for(call, 15)
        assert time.monotonic() - start < 5, "a call during the outage hung"
    assert not waiter.done(), "a process-local receive() rides out the outage"

    redis_server.start()  # no persistence: it comes back empty
    with redis.Redis(port=redis_server.port) as raw:
        assert raw.dbsize() == 0
    healed = await until_delivered(layer, "room", waiter, within=layer.heartbeat_interval + 5)
    print(f"group membership back {healed:.2f}s after Redis returned empty")
    assert waiter.result() == {"type": "after.outage"}
    await layer.send("named.x", {"type": "reconnected"})
    assert await asyncio.wait_for(layer.receive("named.x"), 5) == {"type": "reconnected"}


async def test_sentinel_failover_same_layer_resumes(sentinel_cluster: SentinelCluster) -> None:
    layer = RedisChannelLayer(
        sentinels=sentinel_cluster.sentinels,
        service_name=sentinel_cluster.service_name,
        prefix="failover",
        capacity=10_000,
    )
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        received: list[int] = []

        async def consume() -> None:
            while True:
                received.append((await layer.receive(channel))["i"])

        consumer = asyncio.create_task(consume())
        sent_ok: list[tuple[int, float]] = []
        killed_at: float | None = None
        i = 0
        while True:
            i += 1
            try:
                await layer.send(channel, {"type": "n", "i": i})
                sent_ok.append((i, time.monotonic()))
            except ChannelLayerConnectionError:
                pass
            if killed_at is None and len(sent_ok) == 20:
                sentinel_cluster.master.kill()
                killed_at = time.monotonic()
            after = [n for n, at in sent_ok if killed_at and at > killed_at]
            if len(after) >= 20 and after[-1] in received:
                break
            assert time.monotonic() - (killed_at or time.monotonic()) < 30, "never resumed"
            await asyncio.sleep(0.02)
        assert killed_at is not None
        before = max(at for _, at in sent_ok if at <= killed_at)
        resumed = min(at for _, at in sent_ok if at > killed_at)
        print(
            f"failover gap (last send before SIGKILL -> first send after): {resumed - before:.2f}s"
        )
        # A replica may be promoted without the latest writes (replication is
        # asynchronous), the membership among them: the heartbeat restores it
        # within heartbeat_interval of the new master answering, so group_send
        # must reach the consumer within that bound (plus room for a loaded machine).
        start, within = time.monotonic(), layer.heartbeat_interval + 5
        while -1 not in received:
            assert time.monotonic() - start < within, "group_send after failover did not arrive"
            with contextlib.suppress(ChannelLayerConnectionError):
                await layer.group_send("room", {"type": "n", "i": -1})
            await asyncio.sleep(0.1)
        print(f"group delivery after failover: {time.monotonic() - start:.2f}s")
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)


def protect_with_passwords(cluster: SentinelCluster) -> None:
    """Give the cluster the passwords of the guide's example, at runtime."""
    for sentinel in cluster.sentinel_processes:
        with redis.Redis(port=sentinel.port) as client:
            client.execute_command("SENTINEL", "SET", "mymaster", "auth-pass", "redis_password")
    for server in (cluster.replica, cluster.master):
        with redis.Redis(port=server.port) as client:
            client.config_set("masterauth", "redis_password")
            client.config_set("requirepass", "redis_password")
    for sentinel in cluster.sentinel_processes:
        with redis.Redis(port=sentinel.port) as client:
            client.execute_command("ACL", "SETUSER", "default", "resetpass", ">sentinel_password")


async def test_guide_sentinel_example_verbatim(sentinel_cluster: SentinelCluster) -> None:
    protect_with_passwords(sentinel_cluster)
    first, second = sentinel_cluster.sentinels[:2]
    # The guide's example, with this machine's sentinel addresses substituted.
    register_channel_layer(
        "ha_layer",
        RedisChannelLayer(
            sentinels=[first, second],
            service_name="mymaster",
            sentinel_kwargs={"password": "sentinel_password"},
            connection_kwargs={"password": "redis_password"},
            prefix="prod",
            expiry=600,
            capacity=2000,
        ),
    )
    layer = get_channel_layer("ha_layer")
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("ha", channel)
        await layer.group_send("ha", {"type": "ha.hello"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "ha.hello"}


async def test_silent_redis_fails_calls_within_the_deadline(
    make_queue_layer: QueueLayerFactory,
    redis_server: RedisProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A frozen server accepts nothing and answers nothing, like a network partition.
    monkeypatch.setattr(guard, "COMMAND_TIMEOUT", 1.0)
    layer = make_queue_layer(hosts=[redis_server.url])
    await layer.send("named.x", {"type": "before"})
    assert redis_server.proc is not None
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(ChannelLayerConnectionError, match=r"did not answer within 1\.0s"):
            await layer.send("named.x", {"type": "during"})
        assert time.monotonic() - start < 3
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    await layer.send("named.x", {"type": "after"})
    got = [(await layer.receive("named.x"))["type"] for _ in range(2)]
    if got[1] == "during":  # the timed-out command was already on the wire: Redis ran it late
        got.append((await layer.receive("named.x"))["type"])
        got.remove("during")
    assert got == ["before", "after"]
