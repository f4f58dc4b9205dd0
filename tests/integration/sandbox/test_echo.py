"""System echo: a consumer without a channel layer; size and rate limits."""

from __future__ import annotations

from typing import Any

from fast_channels.testing import WebsocketCommunicator
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from sandbox.features.echo.consumers import EchoConsumer

from .conftest import connect


async def test_echo_round_trip(app: Any) -> None:
    ws = await connect(app, "/ws/echo")
    assert (await ws.receive_json_from())["type"] == "welcome"
    await ws.send_to(text_data="hello <b>there</b>")
    assert await ws.receive_json_from() == {"type": "echo", "text": "hello <b>there</b>"}
    await ws.send_to(bytes_data=b"\x00\x01\x02")
    assert await ws.receive_json_from() == {"type": "echo", "text": "<3 bytes>"}
    await ws.disconnect()


async def test_echo_needs_no_channel_layer() -> None:
    # The registry is empty here (autouse fixture): a layer lookup would fail.
    ws_app = Starlette(routes=[WebSocketRoute("/echo", EchoConsumer.as_asgi())])
    async with WebsocketCommunicator(ws_app, "/echo") as ws:
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_to(text_data="no layer")
        assert (await ws.receive_json_from())["text"] == "no layer"
        await ws.disconnect()


async def test_oversized_message_is_refused_and_socket_keeps_working(app: Any) -> None:
    ws = await connect(app, "/ws/echo")
    await ws.receive_json_from()
    await ws.send_to(text_data="x" * 1001)  # limit is 1000 bytes in the test settings
    error = await ws.receive_json_from()
    assert error["type"] == "error"
    assert error["code"] == "frame_too_large"
    assert "1001 bytes" in error["message"] and "1000-byte limit" in error["message"]
    await ws.send_to(text_data="still here")
    assert (await ws.receive_json_from())["text"] == "still here"
    await ws.disconnect()


async def test_flooding_client_is_rate_limited_alone(app: Any) -> None:
    flooder = await connect(app, "/ws/echo")
    calm = await connect(app, "/ws/echo")
    await flooder.receive_json_from()
    await calm.receive_json_from()
    for i in range(30):  # burst is 10, refill 5/s: most of these must be refused
        await flooder.send_to(text_data=f"m{i}")
    replies = [await flooder.receive_json_from() for _ in range(30)]
    limited = [r for r in replies if r["type"] == "error"]
    echoed = [r for r in replies if r["type"] == "echo"]
    assert limited, "a flood of 30 frames was not rate limited"
    assert all(r["code"] == "rate_limited" for r in limited)
    assert len(echoed) >= 10  # the burst allowance went through
    assert "slow down" in limited[0]["message"]
    # The other client is unaffected.
    await calm.send_to(text_data="hi")
    assert await calm.receive_json_from() == {"type": "echo", "text": "hi"}
    await flooder.disconnect()
    await calm.disconnect()
