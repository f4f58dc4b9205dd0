"""Test helpers: run an ASGI app (a consumer, middleware, a router) without a server.

::

    from fast_channels.testing import WebsocketCommunicator

    async def test_echo():
        async with WebsocketCommunicator(EchoConsumer.as_asgi(), "/ws/echo") as ws:
            connected, _ = await ws.connect()
            assert connected
            await ws.send_to(text_data="hi")
            assert await ws.receive_from() == "hi"
            await ws.disconnect()
"""

from __future__ import annotations

from .application import ApplicationCommunicator
from .http import HttpCommunicator, HttpResponse
from .sse import ServerSentEvent, SseParser
from .websocket import WebsocketCommunicator

__all__ = [
    "ApplicationCommunicator",
    "HttpCommunicator",
    "HttpResponse",
    "ServerSentEvent",
    "SseParser",
    "WebsocketCommunicator",
]
