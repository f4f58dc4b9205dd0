"""Consumers on RedisPubSubChannelLayer: a room chat, and cleanup when sockets close."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar

import pytest
import redis.asyncio as aioredis
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import register_channel_layer
from fast_channels.layers.redis import RedisPubSubChannelLayer
from fast_channels.testing import WebsocketCommunicator

pytestmark = pytest.mark.redis


class RoomConsumer(AsyncWebsocketConsumer):
    groups: ClassVar[list[str]] = ["room"]

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send("room", {"type": "room.message", "text": text_data})

    async def room_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def subscribed(client: aioredis.Redis, prefix: str) -> list[str]:
    """The Redis channels of this layer somebody is subscribed to."""
    return sorted(name.decode() for name in await client.pubsub_channels(f"{prefix}:*"))


async def test_room_chat_and_cleanup_after_disconnect(redis_url: str) -> None:
    prefix = f"chat{uuid.uuid4().hex[:8]}"
    layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix)
    layer.release_after = 0.1
    register_channel_layer("default", layer)
    inspector = aioredis.Redis.from_url(redis_url)
    try:
        async with (
            WebsocketCommunicator(RoomConsumer.as_asgi(), "/room") as alice,
            WebsocketCommunicator(RoomConsumer.as_asgi(), "/room") as bob,
        ):
            assert (await alice.connect())[0]
            assert (await bob.connect())[0]
            await alice.send_to(text_data="hi bob")
            assert await bob.receive_from(timeout=5) == "hi bob"
            assert await alice.receive_from(timeout=5) == "hi bob"
            names = await subscribed(inspector, prefix)
            assert len(names) == 3  # alice's channel, bob's channel, the room
            assert f"{prefix}:group:room" in names

            await alice.disconnect()
            await asyncio.sleep(0.3)  # past release_after
            assert len(await subscribed(inspector, prefix)) == 2  # alice's channel is gone
            await bob.send_to(text_data="still here")
            assert await bob.receive_from(timeout=5) == "still here"

            await bob.disconnect()
            await asyncio.sleep(0.3)
            assert await subscribed(inspector, prefix) == []
    finally:
        await inspector.aclose()
        await layer.close()
