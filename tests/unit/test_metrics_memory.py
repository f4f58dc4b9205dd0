"""The in-memory layer's counters move for each cause."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fast_channels.exceptions import ChannelFull
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.metrics import layer_stats


async def test_sends_receives_and_a_full_channel_are_counted() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    await layer.send("c", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("c", {"type": "m"})
    assert await layer.receive("c") == {"type": "m"}
    stats = layer.stats()
    assert (stats.messages_sent, stats.messages_received) == (1, 1)
    assert stats.drops == {"channel_full": 1, "expired": 0, "undecodable": 0, "no_subscriber": 0}


async def test_group_sends_count_deliveries_and_skipped_full_members() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    for name in ("a", "b", "c"):
        await layer.group_add("room", name)
    await layer.send("a", {"type": "filler"})
    await layer.group_send("room", {"type": "m"})
    stats = layer.stats()
    assert (stats.group_sends, stats.group_deliveries) == (1, 2)
    assert stats.drops["channel_full"] == 1
    assert (stats.groups, stats.memberships) == (1, 3)
    assert (stats.buffers, stats.buffered_messages) == (3, 3)


async def test_an_expired_message_is_counted_when_a_receive_meets_it() -> None:
    layer = InMemoryChannelLayer(expiry=0.05)
    await layer.send("c", {"type": "old"})
    await asyncio.sleep(0.1)
    await layer.send("c", {"type": "new"})
    assert await layer.receive("c") == {"type": "new"}
    assert layer.stats().drops["expired"] == 1


async def test_layer_stats_are_labelled_by_alias() -> None:
    layer = register_channel_layer("chat", InMemoryChannelLayer())
    await layer.send("c", {"type": "m"})
    by_alias = layer_stats()
    assert list(by_alias) == ["chat"]
    assert by_alias["chat"].alias == layer.stats().alias == "chat"
    assert by_alias["chat"].layer_type == "InMemoryChannelLayer"
    assert by_alias["chat"].messages_sent == 1
    assert InMemoryChannelLayer().stats().alias == ""


async def test_drops_are_logged_once_per_interval_with_structured_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = register_channel_layer("chat", InMemoryChannelLayer(capacity=1))
    await layer.group_add("room", "slow")
    await layer.send("slow", {"type": "filler"})
    with caplog.at_level(logging.WARNING, logger="fast_channels.layers.memory"):
        for _ in range(5):  # an outage: the same full channel, again and again
            await layer.group_send("room", {"type": "m"})
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "dropped"]
    assert (record.alias, record.layer, record.count) == ("chat", "InMemoryChannelLayer", 1)  # type: ignore[attr-defined]
    assert "skipped 1 of 1" in record.getMessage()
    assert layer.stats().drops["channel_full"] == 5


class Bare(InMemoryChannelLayer):
    def __init__(self) -> None:  # a third-party layer that skips the base __init__
        pass


def test_a_layer_without_counters_is_left_out_not_fatal() -> None:
    register_channel_layer("bare", Bare())
    counted = register_channel_layer("counted", InMemoryChannelLayer())
    assert list(layer_stats()) == ["counted"]
    assert counted.stats().alias == "counted"
