"""Failure behaviour through a real uvicorn server: handler errors and unknown aliases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

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


class Member(AsyncWebsocketConsumer):
    groups: ClassVar[list[str]] = ["members"]

    async def members_say(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


class Misconfigured(AsyncWebsocketConsumer):
    channel_layer_alias = "xyz"


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return InMemoryChannelLayer()


@pytest.fixture
async def server_url(layer: InMemoryChannelLayer) -> AsyncIterator[str]:
    register_channel_layer("default", layer)
    app = Starlette(
        routes=[
            WebSocketRoute("/fragile", Fragile.as_asgi()),
            WebSocketRoute("/misconfigured", Misconfigured.as_asgi()),
            WebSocketRoute("/member", Member.as_asgi()),
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


async def test_hostile_layer_message_types_leave_the_socket_working(
    server_url: str, layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    async with connect(f"{server_url}/member") as ws:
        for _ in range(100):  # the handshake is done; wait for the group join
            if layer._groups.get("members"):
                break
            await asyncio.sleep(0.01)
        with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
            for msg_type in ("websocket.disconnect", "dispatch", "close", "send", "no.handler"):
                await layer.group_send("members", {"type": msg_type, "code": 1000})
            await layer.group_send("members", {"type": "members.say", "text": "still open"})
            assert await asyncio.wait_for(ws.recv(), 5) == "still open"
        assert caplog.text.count("dropped") == 5


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_hostile_layer_message_types_through_a_redis_layer(
    kind: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    layer = cls(hosts=[redis_url], prefix=f"hostile{uuid.uuid4().hex[:8]}")
    register_channel_layer("default", layer)
    app = Starlette(routes=[WebSocketRoute("/member", Member.as_asgi())])
    try:
        async with serve(app) as url, connect(f"{url}/member") as ws:
            for _ in range(50):  # until the consumer's group_add is done
                await layer.group_send("members", {"type": "members.say", "text": "probe"})
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(ws.recv(), 0.2) == "probe":
                        break
            with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
                for msg_type in ("websocket.disconnect", "dispatch", "close", "send", "no.handler"):
                    await layer.group_send("members", {"type": msg_type, "code": 1000})
                await layer.group_send("members", {"type": "members.say", "text": "still open"})
                while (frame := await asyncio.wait_for(ws.recv(), 5)) == "probe":
                    pass  # a probe sent before the join was seen
                assert frame == "still open"
            assert caplog.text.count("dropped") == 5
            await ws.send("after")  # the client can still send, and still receives
            await layer.group_send("members", {"type": "members.say", "text": "last"})
            assert await asyncio.wait_for(ws.recv(), 5) == "last"
    finally:
        await layer.flush()
        await layer.close()
