"""Consumer counters: handshakes, frames, handler errors and close codes per class."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.metrics import ConsumerStats, consumer_stats, reset_consumer_stats
from fast_channels.testing import WebsocketCommunicator


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    reset_consumer_stats()
    yield
    reset_consumer_stats()


class Echo(AsyncWebsocketConsumer):
    channel_layer_alias = None

    async def connect(self) -> None:
        if self.scope["path"] == "/no":
            await self.close()
            return
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "boom":
            raise RuntimeError("handler exploded")
        if text_data == "bye":
            await self.close(4001)
            return
        await self.send(text_data=text_data)


def stats() -> ConsumerStats:
    return consumer_stats()[f"{__name__}.Echo"]


async def test_frames_and_a_clean_close_are_counted() -> None:
    comm = WebsocketCommunicator(Echo.as_asgi(), "/")
    assert (await comm.connect())[0]
    assert stats().open_connections == 1
    await comm.send_to(text_data="a")
    await comm.send_to(text_data="b")
    assert await comm.receive_from() == "a"
    assert await comm.receive_from() == "b"
    await comm.disconnect(1000)
    got = stats()
    assert (got.accepted, got.denied, got.open_connections) == (1, 0, 0)
    assert (got.frames_in, got.frames_out) == (2, 2)
    assert got.close_codes == {1000: 1}


async def test_a_handler_error_is_counted_and_closes_with_1011() -> None:
    comm = WebsocketCommunicator(Echo.as_asgi(), "/")
    await comm.connect()
    await comm.send_to(text_data="boom")
    assert await comm.receive_close() == 1011
    await comm.wait()
    got = stats()
    assert got.handler_errors == 1
    assert got.close_codes == {1011: 1}
    assert got.open_connections == 0


async def test_server_close_codes_and_denied_handshakes() -> None:
    comm = WebsocketCommunicator(Echo.as_asgi(), "/")
    await comm.connect()
    await comm.send_to(text_data="bye")
    assert await comm.receive_close() == 4001
    await comm.disconnect(4001)
    denied = WebsocketCommunicator(Echo.as_asgi(), "/no")
    connected, _ = await denied.connect()
    assert not connected
    await denied.disconnect()  # the server's disconnect after a refused handshake
    got = stats()
    assert (got.accepted, got.denied) == (1, 1)
    assert got.close_codes == {4001: 1}
