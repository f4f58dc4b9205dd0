"""RedisPubSubChannelLayer across outages: a real redis-server killed and restarted.

Measured numbers are printed (run with ``-s`` to see them); the assertions
only use generous bounds, as correctness checks, never as benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import Any

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.redis import RedisPubSubChannelLayer
from fast_channels.layers.redis._transport import dedicated
from fast_channels.layers.redis._transport.subscriber import ShardSubscriber
from fast_channels.layers.redis.pubsub import layer as pubsub
from redis.exceptions import ConnectionError as RedisConnectionError

from sandbox.redis_process import RedisProcess

from .conftest import SentinelCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]

#: Correctness bound for "delivery resumes": the target is 500 ms, this only catches breakage.
RESUMES_WITHIN = 3.0


async def send_until_delivered(
    layer: RedisPubSubChannelLayer,
    channel: str,
    pending: asyncio.Task[dict[str, Any]],
    within: float,
) -> dict[str, Any]:
    """Send to ``channel`` every 5 ms (ignoring outage errors) until ``pending`` completes."""
    deadline = time.monotonic() + within
    attempt = 0
    while not pending.done():
        if time.monotonic() > deadline:
            pending.cancel()
            raise AssertionError(f"no delivery within {within}s")
        attempt += 1
        with contextlib.suppress(ChannelLayerConnectionError):
            await layer.send(channel, {"type": "probe", "attempt": attempt})
        await asyncio.wait({pending}, timeout=0.005)
    return pending.result()


async def test_restart_on_same_port_resubscribes_and_calls_back(
    redis_server: RedisProcess,
) -> None:
    events: list[tuple[str, float]] = []
    disconnected = asyncio.Event()
    reconnected = asyncio.Event()

    def on_disconnect() -> None:  # a plain function
        events.append(("disconnect", time.monotonic()))
        disconnected.set()

    async def on_reconnect() -> None:  # a coroutine function; it may use the layer
        events.append(("reconnect", time.monotonic()))
        await layer.send(resync_channel, {"type": "resync"})
        reconnected.set()

    layer = RedisPubSubChannelLayer(
        hosts=[redis_server.url], on_disconnect=on_disconnect, on_reconnect=on_reconnect
    )
    async with layer:
        channel = await layer.new_channel()
        resync_channel = await layer.new_channel("resync")
        await layer.group_add("room", channel)
        await layer.send(channel, {"type": "before"})
        assert await layer.receive(channel) == {"type": "before"}

        pending = asyncio.create_task(layer.receive(channel))  # waits across the outage
        redis_server.kill()
        await asyncio.wait_for(disconnected.wait(), 5)

        started = time.monotonic()
        with pytest.raises(ChannelLayerConnectionError, match="unreachable"):
            await layer.send(channel, {"type": "lost"})
        failed_after = time.monotonic() - started
        print(f"\npublish during the outage failed after {failed_after * 1000:.0f} ms")
        assert failed_after < RESUMES_WITHIN  # no hang
        await asyncio.sleep(0.6)  # let the backoff reach its cap

        await asyncio.to_thread(redis_server.start)  # returns once PING is answered
        answering = time.monotonic()
        first = await send_until_delivered(layer, channel, pending, RESUMES_WITHIN)
        resumed = time.monotonic() - answering
        await asyncio.wait_for(reconnected.wait(), RESUMES_WITHIN)
        reconnect_at = dict(events)["reconnect"]
        print(
            f"delivery resumed {resumed * 1000:.0f} ms after Redis answered PING "
            f"(on_reconnect after {(reconnect_at - answering) * 1000:.0f} ms)"
        )
        assert first["type"] == "probe"
        assert resumed < RESUMES_WITHIN
        assert [name for name, _ in events] == ["disconnect", "reconnect"]

        # The consumer reacted to the reconnect, and the group subscription is back too.
        assert await asyncio.wait_for(layer.receive(resync_channel), 5) == {"type": "resync"}
        await layer.flush()
        other = await layer.new_channel()
        await layer.group_add("room", other)
        await layer.group_send("room", {"type": "after"})
        assert await asyncio.wait_for(layer.receive(other), 5) == {"type": "after"}


async def test_subscribing_during_an_outage_fails_fast_then_works(
    redis_server: RedisProcess,
) -> None:
    async with RedisPubSubChannelLayer(hosts=[redis_server.url]) as layer:
        held = await layer.new_channel()
        redis_server.kill()
        await asyncio.sleep(0.3)  # the reader has noticed
        started = time.monotonic()
        with pytest.raises(ChannelLayerConnectionError) as down:
            await layer.group_add("room", held)
        # The reader's own connection error, chained: what a log shows under the error.
        assert isinstance(down.value.__cause__, (RedisConnectionError, OSError))
        with pytest.raises(ChannelLayerConnectionError):
            await layer.new_channel()
        assert time.monotonic() - started < RESUMES_WITHIN
        await asyncio.to_thread(redis_server.start)
        # The failed group_add left nothing behind; both work once Redis is back.
        pending = asyncio.create_task(layer.receive(held))
        await send_until_delivered(layer, held, pending, RESUMES_WITHIN)
        fresh = await layer.new_channel()
        await layer.group_add("room", fresh)
        await layer.group_send("room", {"type": "hello"})
        assert await asyncio.wait_for(layer.receive(fresh), 5) == {"type": "hello"}


async def test_sentinel_failover_same_layer_resumes(sentinel_cluster: SentinelCluster) -> None:
    reconnects: list[float] = []
    layer = RedisPubSubChannelLayer(
        sentinels=sentinel_cluster.sentinels,
        service_name=sentinel_cluster.service_name,
        on_reconnect=lambda: reconnects.append(time.monotonic()),
    )
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "before"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "before"}

        pending = asyncio.create_task(layer.receive(channel))
        killed = time.monotonic()
        sentinel_cluster.master.kill()
        promotion = await asyncio.to_thread(sentinel_cluster.wait_for_promotion)
        promoted = killed + promotion
        await send_until_delivered(layer, channel, pending, 10)
        delivered = time.monotonic()
        print(
            f"\nfailover: promotion {promotion:.2f}s after the kill; first delivery "
            f"{delivered - killed:.2f}s after the kill, {(delivered - promoted) * 1000:.0f} ms "
            "after promotion"
        )
        assert reconnects, "on_reconnect was not called after the failover"
        # The group subscription moved to the new master as well.
        await layer.group_send("room", {"type": "after"})
        got = await asyncio.wait_for(layer.receive(channel), 5)
        while got["type"] == "probe":  # extra probes sent while the first one was in flight
            got = await asyncio.wait_for(layer.receive(channel), 5)
        assert got == {"type": "after"}


async def test_a_frozen_server_fails_publishes_and_is_reconnected(
    redis_server: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP: the socket stays open but nothing answers; only the watchdogs notice."""
    monkeypatch.setattr(ShardSubscriber, "health_check_interval", 0.2)
    monkeypatch.setattr(pubsub, "PUBLISH_TIMEOUT", 0.4)
    monkeypatch.setattr(dedicated, "CONNECT_TIMEOUT", 0.5)
    disconnected = asyncio.Event()
    async with RedisPubSubChannelLayer(
        hosts=[redis_server.url], on_disconnect=disconnected.set
    ) as layer:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "opens.the.publisher"})
        assert await layer.receive(channel) == {"type": "opens.the.publisher"}
        pending = asyncio.create_task(layer.receive(channel))
        assert redis_server.proc is not None
        pid = redis_server.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(ChannelLayerConnectionError, match=r"did not answer within 0\.4s"):
                await layer.send(channel, {"type": "stuck"})
            print(f"\npublish to a frozen server failed after {time.monotonic() - started:.2f}s")
            with pytest.raises(ChannelLayerConnectionError, match="no answer"):
                await layer.send(channel, {"type": "reconnecting"})
            await asyncio.wait_for(disconnected.wait(), RESUMES_WITHIN)
        finally:
            os.kill(pid, signal.SIGCONT)
        got = await send_until_delivered(layer, channel, pending, RESUMES_WITHIN)
        assert got["type"] == "probe"
