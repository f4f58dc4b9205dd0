"""Contract: presence_add / presence_discard / presence(), and consumer presence_groups."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.exceptions import MessageTooLarge
from fast_channels.layers import BaseChannelLayer, register_channel_layer
from fast_channels.layers.presence import MAX_INFO_BYTES, PresenceLayer
from fast_channels.testing import WebsocketCommunicator

from ._helpers import assert_nothing_before_sentinel, receive
from .conftest import LayerFactory


def presence_of(layer: BaseChannelLayer) -> PresenceLayer:
    assert isinstance(layer, PresenceLayer)
    return layer


async def test_present_channels_are_listed_with_their_info(layer: BaseChannelLayer) -> None:
    alice, bob = await layer.new_channel(), await layer.new_channel()
    await presence_of(layer).presence_add("room", alice, {"user": "alice"})
    await presence_of(layer).presence_add("room", bob, {"user": "bob", "tags": [1, None]})
    assert await presence_of(layer).presence("room") == {
        alice: {"user": "alice"},
        bob: {"user": "bob", "tags": [1, None]},
    }
    assert await presence_of(layer).presence("elsewhere") == {}


async def test_adding_again_replaces_the_info(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await presence_of(layer).presence_add("room", channel, {"status": "away"})
    await presence_of(layer).presence_add("room", channel, {"status": "here"})
    assert await presence_of(layer).presence("room") == {channel: {"status": "here"}}


async def test_discard_ends_presence_and_is_a_no_op_when_absent(layer: BaseChannelLayer) -> None:
    staying, leaving = await layer.new_channel(), await layer.new_channel()
    await presence_of(layer).presence_add("room", staying)
    await presence_of(layer).presence_add("room", leaving)
    await presence_of(layer).presence_discard("room", leaving)
    await presence_of(layer).presence_discard("room", leaving)
    await presence_of(layer).presence_discard("never", staying)
    assert await presence_of(layer).presence("room") == {staying: {}}


async def test_join_and_leave_are_announced_to_the_group(layer: BaseChannelLayer) -> None:
    watcher, newcomer = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", watcher)
    await presence_of(layer).presence_add("room", newcomer, {"user": "ann"}, announce=True)
    joined = await receive(layer, watcher)
    assert joined == {
        "type": "presence.join",
        "group": "room",
        "channel": newcomer,
        "info": {"user": "ann"},
    }
    await presence_of(layer).presence_discard("room", newcomer, announce=True)
    left = await receive(layer, watcher)
    assert (left["type"], left["channel"], left["info"]) == (
        "presence.leave",
        newcomer,
        {"user": "ann"},
    )


async def test_silent_by_default(layer: BaseChannelLayer) -> None:
    watcher, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", watcher)
    await presence_of(layer).presence_add("room", other)
    await presence_of(layer).presence_discard("room", other)
    await assert_nothing_before_sentinel(layer, watcher)


async def test_bad_descriptions_are_refused_clearly(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    with pytest.raises(MessageTooLarge, match="presence description"):
        await presence_of(layer).presence_add("room", channel, {"bio": "x" * MAX_INFO_BYTES})
    with pytest.raises(TypeError, match="JSON-safe"):
        await presence_of(layer).presence_add("room", channel, {"when": object()})
    with pytest.raises(TypeError, match="must be a dict"):
        await presence_of(layer).presence_add("room", channel, ["alice"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Group name"):
        await presence_of(layer).presence_add("bad name", channel)
    assert await presence_of(layer).presence("room") == {}


async def test_flush_ends_every_presence(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await presence_of(layer).presence_add("room", channel)
    await layer.flush()
    assert await presence_of(layer).presence("room") == {}


async def test_close_ends_this_layers_presences(layer_factory: LayerFactory) -> None:
    layer = layer_factory()
    await presence_of(layer).presence_add("room", await layer.new_channel())
    await layer.close()
    assert await presence_of(layer).presence("room") == {}
    await layer.close()


class RoomMember(AsyncJsonWebsocketConsumer):
    presence_groups: ClassVar[list[str]] = ["lobby"]
    presence_events = True

    def presence_info(self) -> dict[str, Any]:
        return {"user": self.scope["query_string"].decode()}

    async def presence_join(self, event: dict[str, Any]) -> None:
        await self.send_json({"joined": event["info"]["user"]})

    async def presence_leave(self, event: dict[str, Any]) -> None:
        await self.send_json({"left": event["info"]["user"]})


async def test_consumer_presence_groups(layer: BaseChannelLayer) -> None:
    register_channel_layer("default", layer)
    alice = WebsocketCommunicator(RoomMember.as_asgi(), "/ws?alice")
    assert (await alice.connect(timeout=5))[0]
    assert await alice.receive_json_from(timeout=5) == {"joined": "alice"}
    bob = WebsocketCommunicator(RoomMember.as_asgi(), "/ws?bob")
    assert (await bob.connect(timeout=5))[0]
    assert await alice.receive_json_from(timeout=5) == {"joined": "bob"}
    assert await bob.receive_json_from(timeout=5) == {"joined": "bob"}
    users = await presence_of(layer).presence("lobby")
    assert sorted(info["user"] for info in users.values()) == ["alice", "bob"]
    await bob.disconnect(timeout=5)
    assert await alice.receive_json_from(timeout=5) == {"left": "bob"}
    assert [i["user"] for i in (await presence_of(layer).presence("lobby")).values()] == ["alice"]
    await alice.disconnect(timeout=5)
    assert await presence_of(layer).presence("lobby") == {}
