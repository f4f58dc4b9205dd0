"""Consumers: classes that serve one connection each, Django-Channels style.

Write a consumer::

    from fast_channels.consumer.websocket import AsyncWebsocketConsumer

    class ChatConsumer(AsyncWebsocketConsumer):
        channel_layer_alias = "default"

        async def connect(self):
            self.room = self.scope["path_params"]["room_name"]
            self.room_group = f"chat_{self.room}"
            await self.channel_layer.group_add(self.room_group, self.channel_name)
            await self.accept()

        async def receive(self, text_data=None, bytes_data=None):
            await self.channel_layer.group_send(
                self.room_group, {"type": "chat.message", "message": text_data}
            )

        async def chat_message(self, event):
            await self.send(text_data=event["message"])

Mount it (the one recommended way, FastAPI 0.115+ / Starlette 0.40+ and 1.x):
put the WebSocket routes in a Starlette sub-app built from ``WebSocketRoute``
and mount that sub-app under ``/ws``::

    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    ws_app = Starlette(routes=[
        WebSocketRoute("/room/{room_name}", ChatConsumer.as_asgi()),
    ])

    app = FastAPI()
    app.mount("/ws", ws_app)   # clients connect to ws://host/ws/room/lobby

Path parameters of the route arrive in ``self.scope["path_params"]``.
``as_asgi()`` returns an ASGI app *object*, which ``WebSocketRoute`` passes the
raw connection (it only wraps plain functions as ``WebSocket`` endpoints).
Don't use ``app.add_websocket_route``: FastAPI 0.16x removed it.

HTTP consumers (:mod:`fast_channels.consumer.http`, and Server-Sent Events in
:mod:`fast_channels.consumer.sse`) mount the same way, with ``Route`` instead of
``WebSocketRoute``, in a sub-app of their own (``app.mount("/sse", sse_app)``).

Groups: list them in ``groups = ["lobby"]`` to join them for the life of the
connection, or call ``group_add``/``group_discard`` yourself (as above; groups
you join by hand are yours to leave in ``disconnect``).

``channel_layer_alias = None`` makes a consumer that uses no channel layer.
An alias that is not registered fails when a connection starts: the error is
logged and the socket closed with 1011.
"""

from __future__ import annotations

from .app import ConsumerApp
from .base import AsyncConsumer
from .http import AsyncHttpConsumer
from .sse import AsyncSseConsumer
from .websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

__all__ = [
    "AsyncConsumer",
    "AsyncHttpConsumer",
    "AsyncJsonWebsocketConsumer",
    "AsyncSseConsumer",
    "AsyncWebsocketConsumer",
    "ConsumerApp",
]
