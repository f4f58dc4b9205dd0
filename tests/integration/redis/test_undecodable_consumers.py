"""A group message sealed with another key or serializer costs the group nothing.

Was: such a message made *every* member consumer of the group close with 1011.
Now each layer logs it with its channel and skips it; the consumers stay open
and get the next message. Real WebSocket consumers (through the test
communicator) on both Redis layers, against the session's Redis.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar

import pytest
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import BaseChannelLayer, register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.testing import WebsocketCommunicator

pytestmark = pytest.mark.redis
MEMBERS = 5


class RoomConsumer(AsyncWebsocketConsumer):
    groups: ClassVar[list[str]] = ["room"]

    async def room_chat(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


@pytest.mark.parametrize("layer_class", [RedisChannelLayer, RedisPubSubChannelLayer])
@pytest.mark.parametrize(
    "foreign",
    [{"symmetric_encryption_keys": ["another key"]}, {"serializer": "json"}],
    ids=["other-key", "other-serializer"],
)
async def test_no_member_closes_on_a_message_it_cannot_decode(
    redis_url: str,
    layer_class: type[BaseChannelLayer],
    foreign: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = f"undec{uuid.uuid4().hex[:8]}"
    ours = layer_class(hosts=[redis_url], prefix=prefix, symmetric_encryption_keys=["ours"])  # type: ignore[call-arg]
    theirs = layer_class(hosts=[redis_url], prefix=prefix, **foreign)  # type: ignore[call-arg]
    register_channel_layer("default", ours)
    members = [WebsocketCommunicator(RoomConsumer.as_asgi(), "/") for _ in range(MEMBERS)]
    try:
        for member in members:
            assert (await member.connect())[0]
        with caplog.at_level(logging.ERROR):
            await theirs.group_send("room", {"type": "room.chat", "text": "sealed elsewhere"})
            await ours.group_send("room", {"type": "room.chat", "text": "hello"})
            for member in members:
                assert await member.receive_output(timeout=5) == {
                    "type": "websocket.send",
                    "text": "hello",
                }
        for member in members:
            assert await member.receive_nothing(timeout=0.1)  # in particular no close
            await member.disconnect()
        decode_errors = [
            r for r in caplog.records if "decoded" in r.message or "undecodable" in r.message
        ]
        assert len(decode_errors) == MEMBERS, caplog.text  # once per member channel
    finally:
        await ours.flush()
        await ours.close()
        await theirs.close()
