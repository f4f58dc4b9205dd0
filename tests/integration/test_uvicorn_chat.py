"""The guide's ChatConsumer behind a real uvicorn server, with real WebSocket clients."""

# The guide's code is kept verbatim, so it is exempt from our lint and format rules.
# ruff: noqa: RUF012

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.uvicorn_server import serve


# Copied verbatim from the user guide (channel-layer-setup-guide.rst, "Use in consumers").
# fmt: off
class ChatConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = "default"
    groups = ["chat_room"]

    async def connect(self):
        await self.accept()
        await self.channel_layer.group_send(
            "chat_room",
            {"type": "chat.message", "message": "User joined"}
        )

    async def chat_message(self, event):
        await self.send(text_data=event["message"])
# fmt: on


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """Joins the group named by the route's path parameter."""

    async def connect(self) -> None:
        self.room = self.scope["path_params"]["room_name"]
        await self.channel_layer.group_add(f"room_{self.room}", self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(f"room_{self.room}", self.channel_name)

    async def receive_json(self, content: object) -> None:
        await self.channel_layer.group_send(
            f"room_{self.room}", {"type": "room.message", "room": self.room, "content": content}
        )

    async def room_message(self, event: dict[str, object]) -> None:
        await self.send_json({"room": event["room"], "content": event["content"]})


def build_app() -> FastAPI:
    register_channel_layer("default", InMemoryChannelLayer())
    ws_app = Starlette(
        routes=[
            WebSocketRoute("/chat", ChatConsumer.as_asgi()),
            WebSocketRoute("/room/{room_name}", RoomConsumer.as_asgi()),
        ]
    )
    app = FastAPI()
    app.mount("/ws", ws_app)
    return app


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    async with serve(build_app()) as url:
        yield url


async def test_both_clients_see_user_joined_when_the_second_connects(server_url: str) -> None:
    async with connect(f"{server_url}/ws/chat") as first:
        assert await asyncio.wait_for(first.recv(), 5) == "User joined"
        async with connect(f"{server_url}/ws/chat") as second:
            assert await asyncio.wait_for(second.recv(), 5) == "User joined"
            assert await asyncio.wait_for(first.recv(), 5) == "User joined"


async def test_path_param_route_through_the_recommended_mount(server_url: str) -> None:
    async with (
        connect(f"{server_url}/ws/room/lobby") as lobby_a,
        connect(f"{server_url}/ws/room/lobby") as lobby_b,
        connect(f"{server_url}/ws/room/kitchen") as kitchen,
    ):
        await lobby_a.send(json.dumps({"text": "hi"}))
        expected = {"room": "lobby", "content": {"text": "hi"}}
        assert json.loads(await asyncio.wait_for(lobby_a.recv(), 5)) == expected
        assert json.loads(await asyncio.wait_for(lobby_b.recv(), 5)) == expected
        await lobby_a.send("{broken")
        error = json.loads(await asyncio.wait_for(lobby_a.recv(), 5))
        assert error["code"] == "invalid_json"
        await kitchen.send(json.dumps("soup"))
        assert json.loads(await asyncio.wait_for(kitchen.recv(), 5))["room"] == "kitchen"
        # lobby_b is not in the kitchen: its next message is the next lobby one.
        await lobby_a.send(json.dumps({"text": "again"}))
        assert json.loads(await asyncio.wait_for(lobby_b.recv(), 5))["content"] == {"text": "again"}


async def test_unknown_route_is_rejected_by_the_server(server_url: str) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(f"{server_url}/ws/nowhere"):
            pass
