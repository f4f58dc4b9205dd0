"""A Redis outage inside a handler is logged as a layer failure, not as a client leaving.

``ChannelLayerConnectionError`` is an ``OSError``; consumers must not file it
with the ``OSError`` a server raises when the client is gone. The outage is
real: the redis-server is killed while the connection is open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from fast_channels.consumer.http import AsyncHttpConsumer
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.testing import HttpCommunicator, WebsocketCommunicator

from sandbox.redis_process import RedisProcess

pytestmark = pytest.mark.redis
LAYERS = {"queue": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}


class Relay(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
        await self.channel_layer.send("jobs", {"type": "job", "text": text_data})


class Streamer(AsyncHttpConsumer):
    """Starts its response, then Redis dies, then it sends: the client is still there."""

    outage: ClassVar[Callable[[], None]]

    async def handle(self, body: bytes) -> None:
        await self.send_headers(headers=[("content-type", "text/plain")])
        await self.send_body(b"started;", more_body=True)
        type(self).outage()
        await self.channel_layer.send("jobs", {"type": "job"})


def the_layer_error(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    [record] = [r for r in caplog.records if "channel layer" in r.getMessage()]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "'default'" in message and "Redis at" in message, message
    assert "caused by" in message and "None" not in message.split("caused by")[1], message
    assert "went away" not in caplog.text
    return record


@pytest.mark.parametrize("kind", list(LAYERS))
async def test_websocket_handler_during_an_outage(
    kind: str, redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    layer = register_channel_layer("default", LAYERS[kind](hosts=[redis_server.url]))
    try:
        async with WebsocketCommunicator(Relay.as_asgi(), "/") as ws:
            assert (await ws.connect())[0]
            await ws.send_to(text_data="warm")  # connected while Redis is up
            await asyncio.sleep(0.1)
            redis_server.kill()
            with caplog.at_level(logging.INFO, logger="fast_channels.consumer"):
                await ws.send_to(text_data="during the outage")
                assert await ws.receive_close(timeout=30) == 1011
        the_layer_error(caplog)
    finally:
        await layer.close()


@pytest.mark.parametrize("kind", list(LAYERS))
async def test_http_handler_during_an_outage_after_the_response_started(
    kind: str, redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    layer = register_channel_layer("default", LAYERS[kind](hosts=[redis_server.url]))
    try:
        await layer.send("jobs", {"type": "warm"})  # connected while Redis is up
        Streamer.outage = redis_server.kill
        with caplog.at_level(logging.INFO, logger="fast_channels.consumer"):
            async with HttpCommunicator(Streamer.as_asgi(), "GET", "/") as http:
                response = await http.get_response(timeout=30)
        assert response["status"] == 200
        assert response["body"] == b"started;"
        the_layer_error(caplog)
    finally:
        await layer.close()
