"""Only pages served from your own site may open a WebSocket to it."""

from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.middleware import OriginValidator
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


class ClockConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None  # talks to its own client only

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data="tick")


ws_app = Starlette(routes=[WebSocketRoute("/clock", ClockConsumer.as_asgi())])

app = FastAPI()
# Browsers send the page's origin with every WebSocket handshake; any other origin
# (a page on someone else's site, using your visitor's cookies) gets HTTP 403.
app.mount("/ws", OriginValidator(ws_app, ["https://shop.example.com", "localhost"]))
