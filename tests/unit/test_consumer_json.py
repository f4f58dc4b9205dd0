"""AsyncJsonWebsocketConsumer: JSON in and out, and malformed frames."""

from __future__ import annotations

from typing import Any

from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.testing import WebsocketCommunicator


class Calculator(AsyncJsonWebsocketConsumer):
    channel_layer_alias = None

    async def receive_json(self, content: Any) -> None:
        await self.send_json({"sum": sum(content["numbers"])})


async def test_receive_json_and_send_json() -> None:
    async with WebsocketCommunicator(Calculator.as_asgi(), "/calc") as ws:
        await ws.connect()
        await ws.send_json_to({"numbers": [1, 2, 3]})
        assert await ws.receive_json_from() == {"sum": 6}
        await ws.send_to(bytes_data=b'{"numbers": [4]}')
        assert await ws.receive_json_from() == {"sum": 4}
        await ws.disconnect()


async def test_malformed_json_gets_an_error_event_and_the_socket_stays_usable() -> None:
    async with WebsocketCommunicator(Calculator.as_asgi(), "/calc") as ws:
        await ws.connect()
        await ws.send_to(text_data="{not json")
        error = await ws.receive_json_from()
        assert error["type"] == "error"
        assert error["code"] == "invalid_json"
        assert "not valid JSON" in error["message"]
        await ws.send_to(bytes_data=b"\xff\xfe")
        assert (await ws.receive_json_from())["code"] == "invalid_json"
        await ws.send_json_to({"numbers": [10, 20]})
        assert await ws.receive_json_from() == {"sum": 30}
        await ws.disconnect()


async def test_encode_decode_and_invalid_json_are_overridable() -> None:
    class Custom(Calculator):
        @classmethod
        def decode_json(cls, data: str | bytes) -> Any:
            text = data.decode() if isinstance(data, bytes) else data
            if not text.startswith("N:"):
                raise ValueError("expected N:<numbers>")
            return {"numbers": [int(n) for n in text[2:].split(",")]}

        @classmethod
        def encode_json(cls, content: Any) -> str:
            return f"S:{content['sum']}"

        async def invalid_json(self, data: str | bytes, exc: ValueError) -> None:
            await self.close(code=4400, reason=str(exc))

    async with WebsocketCommunicator(Custom.as_asgi(), "/") as ws:
        await ws.connect()
        await ws.send_to(text_data="N:1,2")
        assert await ws.receive_from() == "S:3"
        await ws.send_to(text_data="{}")
        assert await ws.receive_close() == 4400


async def test_send_json_can_close() -> None:
    class Bye(AsyncJsonWebsocketConsumer):
        channel_layer_alias = None

        async def receive_json(self, content: Any) -> None:
            await self.send_json({"bye": True}, close=4000)

    async with WebsocketCommunicator(Bye.as_asgi(), "/") as ws:
        await ws.connect()
        await ws.send_json_to({})
        assert await ws.receive_json_from() == {"bye": True}
        assert await ws.receive_close() == 4000
