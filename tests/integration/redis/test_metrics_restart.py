"""A killed and restarted Redis: reconnects, time spent disconnected and heals are counted.

Both Redis layers, against a private server the test kills, keeps down for a
moment and starts again empty. The structured events are logged once each.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers import BaseChannelLayer, register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.metrics import LayerStats

from sandbox.redis_process import RedisProcess

pytestmark = [pytest.mark.redis, pytest.mark.slow]

DOWN = 0.5  # seconds Redis stays dead


def build(kind: str, url: str) -> BaseChannelLayer:
    prefix = f"r{uuid.uuid4().hex[:8]}"
    if kind == "queue":
        return RedisChannelLayer(hosts=[url], prefix=prefix, heartbeat_interval=0.3)
    return RedisPubSubChannelLayer(hosts=[url], prefix=prefix)


async def until(check: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within}s")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_a_restart_counts_a_reconnect_downtime_and_a_heal(
    kind: str, redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    layer = register_channel_layer("live", build(kind, redis_server.url))
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        receiving = asyncio.ensure_future(layer.receive(channel))  # keeps the member live
        await asyncio.sleep(0.4)  # the heartbeat / subscriber are up
        with caplog.at_level(logging.INFO, logger="fast_channels.events"):
            redis_server.kill()
            await until(lambda: not layer.stats().links[0].connected, within=5)
            await asyncio.sleep(DOWN)
            redis_server.start()

            def healed() -> bool:
                stats: LayerStats = layer.stats()
                return stats.links[0].reconnects >= 1 and stats.heals >= 1

            await until(healed, within=8)
            await layer.group_send("room", {"type": "after"})  # the heal made it a member again
            assert await asyncio.wait_for(receiving, 5) == {"type": "after"}
        stats = layer.stats()
        [link] = stats.links
        assert link.connected and link.disconnects >= 1 and link.reconnects >= 1
        assert link.disconnected_seconds >= DOWN
        assert stats.healed >= 1
        events = {r.event: r for r in caplog.records if hasattr(r, "event")}  # type: ignore[attr-defined]
        assert {"reconnected", "healed"} <= events.keys()
        back = events["reconnected"]
        assert (back.alias, back.shard) == ("live", link.address)  # type: ignore[attr-defined]
        assert "reconnected to Redis at" in back.getMessage()


async def test_a_sender_without_readers_counts_the_outage_through_its_pipe(
    redis_server: RedisProcess,
) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url], prefix=f"s{uuid.uuid4().hex[:8]}")
    async with layer:
        await layer.send("jobs", {"type": "m"})  # a worker that only sends: no reader task
        redis_server.kill()
        with pytest.raises(ChannelLayerConnectionError):
            await layer.send("jobs", {"type": "m"})
        assert not layer.stats().links[0].connected
        await asyncio.sleep(DOWN)
        redis_server.start()
        await layer.send("jobs", {"type": "m"})
        [link] = layer.stats().links
        assert link.connected and (link.disconnects, link.reconnects) == (1, 1)
        assert link.disconnected_seconds >= DOWN
        assert link.latency is not None and link.latency.count == 2  # failed calls are not timed
