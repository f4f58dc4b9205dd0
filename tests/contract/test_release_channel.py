"""Contract: ``release_channel()``, a consumer saying "this channel is done"."""

from __future__ import annotations

from fast_channels.layers import BaseChannelLayer

from ._helpers import assert_quiet, receive


async def test_release_of_an_unknown_channel_is_harmless(layer: BaseChannelLayer) -> None:
    await layer.release_channel("never.used")
    channel = await layer.new_channel()
    await layer.release_channel(channel)
    await layer.release_channel(channel)  # twice is fine too


async def test_released_channel_leaves_its_groups(layer: BaseChannelLayer) -> None:
    gone, staying = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", gone)
    await layer.group_add("room", staying)
    await layer.release_channel(gone)
    await layer.group_send("room", {"type": "after.release"})
    assert await receive(layer, staying) == {"type": "after.release"}
    await assert_quiet(layer, gone)


async def test_other_channels_keep_working(layer: BaseChannelLayer) -> None:
    gone, staying = await layer.new_channel(), await layer.new_channel()
    await layer.release_channel(gone)
    await layer.send(staying, {"type": "direct"})
    assert await receive(layer, staying) == {"type": "direct"}
