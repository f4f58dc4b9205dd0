"""The recommended mount: a Starlette sub-app of WebSocketRoutes mounted in FastAPI."""

from __future__ import annotations

from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.testing import WebsocketCommunicator
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


class RoomNameConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=self.scope["path_params"]["room_name"])


def build_app() -> FastAPI:
    ws_app = Starlette(routes=[WebSocketRoute("/room/{room_name}", RoomNameConsumer.as_asgi())])
    app = FastAPI()
    app.mount("/ws", ws_app)
    return app


async def test_path_params_arrive_through_the_recommended_mount() -> None:
    async with WebsocketCommunicator(build_app(), "/ws/room/lobby") as ws:
        assert (await ws.connect())[0]
        assert await ws.receive_from() == "lobby"
        await ws.disconnect()


async def test_unrouted_path_is_rejected_by_the_router() -> None:
    async with WebsocketCommunicator(build_app(), "/ws/nowhere") as ws:
        connected, _ = await ws.connect()
        assert not connected
