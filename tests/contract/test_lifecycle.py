"""Contract: flush, close, reuse after close, ``async with``."""

from __future__ import annotations

from fast_channels.layers import BaseChannelLayer

from ._helpers import assert_quiet, receive


async def test_flush_drops_pending_messages(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "before.flush"})
    await layer.flush()
    await assert_quiet(layer, channel)


async def test_flush_drops_group_memberships(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.flush()
    await layer.group_send("room", {"type": "after.flush"})
    await assert_quiet(layer, channel)


async def test_layer_works_after_flush(layer: BaseChannelLayer) -> None:
    await layer.flush()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.send(channel, {"type": "direct"})
    await layer.group_send("room", {"type": "grouped"})
    assert await receive(layer, channel) == {"type": "direct"}
    assert await receive(layer, channel) == {"type": "grouped"}


async def test_close_then_reuse(layer: BaseChannelLayer) -> None:
    first = await layer.new_channel()
    await layer.send(first, {"type": "before.close"})
    assert await receive(layer, first) == {"type": "before.close"}
    await layer.close()
    second = await layer.new_channel()
    await layer.group_add("room", second)
    await layer.send(second, {"type": "after.close"})
    await layer.group_send("room", {"type": "group.after.close"})
    assert await receive(layer, second) == {"type": "after.close"}
    assert await receive(layer, second) == {"type": "group.after.close"}


async def test_close_twice_and_aclose(layer: BaseChannelLayer) -> None:
    await layer.close()
    await layer.close()
    await layer.aclose()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "still.works"})
    assert await receive(layer, channel) == {"type": "still.works"}


async def test_async_with(layer: BaseChannelLayer) -> None:
    async with layer as entered:
        assert entered is layer
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "inside"})
        assert await receive(layer, channel) == {"type": "inside"}
    # Leaving the block closed the layer; like close(), it can be used again.
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "after.exit"})
    assert await receive(layer, channel) == {"type": "after.exit"}
