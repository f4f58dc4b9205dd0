"""Contract: group_add / group_discard / group_send, identical for every layer."""

from __future__ import annotations

from typing import Any

import pytest
from fast_channels.layers import BaseChannelLayer

from ._helpers import assert_nothing_before_sentinel, receive


async def test_group_send_reaches_every_member(layer: BaseChannelLayer) -> None:
    members = [await layer.new_channel() for _ in range(5)]
    for channel in members:
        await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "chat.message", "text": "to all"})
    for channel in members:
        assert await receive(layer, channel) == {"type": "chat.message", "text": "to all"}


async def test_group_messages_keep_their_order(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    for i in range(20):
        await layer.group_send("room", {"type": "seq", "i": i})
    assert [(await receive(layer, channel))["i"] for _ in range(20)] == list(range(20))


async def test_group_discard_stops_delivery(layer: BaseChannelLayer) -> None:
    leaving, staying = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", leaving)
    await layer.group_add("room", staying)
    await layer.group_discard("room", leaving)
    await layer.group_send("room", {"type": "after.discard"})
    assert await receive(layer, staying) == {"type": "after.discard"}
    await assert_nothing_before_sentinel(layer, leaving)


async def test_group_discard_of_a_non_member_is_a_no_op(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.group_discard("never-joined", channel)
    await layer.group_add("room", channel)
    await layer.group_discard("room", await layer.new_channel())
    await layer.group_send("room", {"type": "still.here"})
    assert await receive(layer, channel) == {"type": "still.here"}


async def test_groups_are_isolated(layer: BaseChannelLayer) -> None:
    in_a, in_b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("group-a", in_a)
    await layer.group_add("group-b", in_b)
    await layer.group_send("group-a", {"type": "for.a"})
    assert await receive(layer, in_a) == {"type": "for.a"}
    await assert_nothing_before_sentinel(layer, in_b)


async def test_adding_twice_delivers_once(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "once"})
    assert await receive(layer, channel) == {"type": "once"}
    await assert_nothing_before_sentinel(layer, channel)


async def test_a_channel_in_two_groups_gets_both(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.group_add("news", channel)
    await layer.group_add("chat", channel)
    await layer.group_send("news", {"type": "from.news"})
    await layer.group_send("chat", {"type": "from.chat"})
    assert await receive(layer, channel) == {"type": "from.news"}
    assert await receive(layer, channel) == {"type": "from.chat"}


async def test_group_send_to_an_empty_group_is_fine(layer: BaseChannelLayer) -> None:
    await layer.group_send("nobody-here", {"type": "into.the.void"})


async def test_nested_non_ascii_payload_through_a_group(layer: BaseChannelLayer) -> None:
    message = {"type": "chat.message", "text": "Grüße 🌍", "meta": {"tags": ["ä", "ß"], "n": 1}}
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.group_send("room", message)
    assert await receive(layer, channel) == message


@pytest.mark.parametrize("bad", ["has space", "a!b", "", "g" * 100])
async def test_invalid_group_names_raise_type_error(layer: BaseChannelLayer, bad: str) -> None:
    channel = await layer.new_channel()
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.group_add(bad, channel)
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.group_discard(bad, channel)
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.group_send(bad, {"type": "m"})


async def test_invalid_member_channel_name_raises_type_error(layer: BaseChannelLayer) -> None:
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.group_add("room", "bad channel")


@pytest.mark.parametrize("bad", [None, "text", {}, {"text": "no type"}])
async def test_group_send_rejects_invalid_messages(layer: BaseChannelLayer, bad: Any) -> None:
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    with pytest.raises(TypeError, match=r"must be a dict|'type'"):
        await layer.group_send("room", bad)
    await assert_nothing_before_sentinel(layer, channel)
