"""Failure behaviour through a real uvicorn server: handler errors and unknown aliases."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from tests.uvicorn_server import serve


class Fragile(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "boom":
            raise RuntimeError("handler exploded")
        await self.send(text_data=f"ok {text_data}")


class Misconfigured(AsyncWebsocketConsumer):
    channel_layer_alias = "xyz"


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    register_channel_layer("default", InMemoryChannelLayer())
    app = Starlette(
        routes=[
            WebSocketRoute("/fragile", Fragile.as_asgi()),
            WebSocketRoute("/misconfigured", Misconfigured.as_asgi()),
        ]
    )
    async with serve(app) as url:
        yield url


async def test_handler_error_closes_with_1011_and_the_other_socket_keeps_working(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
        async with (
            connect(f"{server_url}/fragile") as bad,
            connect(f"{server_url}/fragile") as good,
        ):
            await bad.send("boom")
            with pytest.raises(ConnectionClosedError) as closed:
                await asyncio.wait_for(bad.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
            await good.send("still there")
            assert await asyncio.wait_for(good.recv(), 5) == "ok still there"
    assert "handler exploded" in caplog.text


async def test_unknown_alias_rejects_the_handshake_and_logs_why(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="fast_channels.consumer"),
        pytest.raises(InvalidStatus) as rejected,
    ):
        async with connect(f"{server_url}/misconfigured"):
            pass
    assert rejected.value.response.status_code == 403
    assert "Channel layer 'xyz' not registered. Registered aliases: 'default'" in caplog.text
