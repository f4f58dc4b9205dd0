"""Contract: every layer counts the same things the same way in ``stats()``."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fast_channels.layers import BaseChannelLayer, register_channel_layer
from fast_channels.metrics import DROP_CAUSES, LayerStats

from ._helpers import receive
from .conftest import LayerFactory


async def test_sends_receives_and_group_fan_out_are_counted(layer: BaseChannelLayer) -> None:
    register_channel_layer("contract", layer)
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.send(a, {"type": "direct"})
    await layer.group_send("room", {"type": "fan.out"})
    assert await receive(layer, a) == {"type": "direct"}
    assert await receive(layer, a) == {"type": "fan.out"}
    assert await receive(layer, b) == {"type": "fan.out"}
    stats = layer.stats()
    assert isinstance(stats, LayerStats) and stats.enabled
    assert (stats.alias, stats.layer_type) == ("contract", type(layer).__name__)
    assert (stats.messages_sent, stats.messages_received, stats.group_sends) == (1, 3, 1)
    assert stats.group_deliveries >= 1  # pub/sub: one subscribed connection; else 2 members
    assert set(stats.drops) == set(DROP_CAUSES) and not any(stats.drops.values())
    assert (stats.groups, stats.memberships) == (1, 2)
    assert stats.buffers >= 2 and stats.buffered_messages == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.messages_sent = 0  # type: ignore[misc]


async def test_a_full_local_buffer_is_counted_as_channel_full(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(capacity=1)
    try:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        for i in range(3):  # nobody receives: the buffer holds one
            await layer.group_send("room", {"type": "m", "i": i})
        # Pub/sub buffers (and drops) as messages arrive from Redis, a moment later.
        deadline = asyncio.get_running_loop().time() + 3
        while layer.stats().drops["channel_full"] < 2:
            assert asyncio.get_running_loop().time() < deadline, layer.stats().drops
            await asyncio.sleep(0.01)
        assert layer.stats().drops["channel_full"] == 2
        assert layer.stats().buffered_messages == 1
        await receive(layer, channel)
    finally:
        await layer.close()
