"""A chat room that shows who is here and replays what a reconnecting client missed."""

import os
from typing import Any
from urllib.parse import parse_qs

from fast_channels.consumer.sse import AsyncSseConsumer
from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.exceptions import HistoryUnrecoverable, InvalidPosition
from fast_channels.layers import InMemoryChannelLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379")
#: Rooms keep their last 100 messages for 5 minutes: enough to ride out a reconnect.
ROOM_HISTORY = {"room-*": (100, 300)}


def memory_layer() -> InMemoryChannelLayer:
    return InMemoryChannelLayer(group_history=ROOM_HISTORY)


def queue_layer() -> RedisChannelLayer:
    # Storing a message in history and fanning it out is one script per shard.
    return RedisChannelLayer(hosts=[REDIS_URL], prefix="chat", group_history=ROOM_HISTORY)


def pubsub_layer() -> RedisPubSubChannelLayer:
    # History makes pub/sub recoverable: what was published while a client was
    # away (even while nobody was subscribed) can be replayed.
    return RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix="chat", group_history=ROOM_HISTORY)


class LobbyConsumer(AsyncJsonWebsocketConsumer):
    """Everyone in the lobby, announced as they come and go."""

    presence_groups = ["lobby"]  # joined, and present in, for the connection's life
    presence_events = True  # send presence.join / presence.leave to the group

    def presence_info(self) -> dict[str, Any]:
        return {"user": self.scope["path_params"]["user"]}

    async def connect(self) -> None:
        await self.accept()
        here = await self.group_presence("lobby")  # every process, one round trip
        await self.send_json({"here": sorted(info["user"] for info in here.values())})

    async def presence_join(self, event: dict[str, Any]) -> None:
        await self.send_json({"joined": event["info"]["user"]})

    async def presence_leave(self, event: dict[str, Any]) -> None:
        await self.send_json({"left": event["info"]["user"]})


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """A room that resumes from ``?after=<position>``, the last position the page saw."""

    async def connect(self) -> None:
        self.room = f"room-{self.scope['path_params']['room']}"
        await self.accept()
        after = parse_qs(self.scope["query_string"].decode()).get("after", [None])[0]
        try:
            # Joins the room, replays the missed messages through chat_message, then
            # live ones follow; never the same message twice.
            await self.group_resume(self.room, after, recent=after is None)
        except (HistoryUnrecoverable, InvalidPosition):
            await self.send_json({"reload": True})  # the page fetches the room afresh

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        message = {"type": "chat.message", "text": str(content["text"])}
        await self.channel_layer.group_send(self.room, message)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"text": event["text"], "position": self.position_id(event)})


class RoomStream(AsyncSseConsumer):
    """The same room over Server-Sent Events: ``Last-Event-ID`` is the position."""

    history_group = "room-lobby"

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_event({"text": event["text"]}, id=self.position_id(event))
