"""A client that stops reading, through a real uvicorn: closed with 3008, others unaffected."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, ClassVar

import psutil
from fast_channels.consumer.limits import ConnectionLimits
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.uvicorn_server import serve

MESSAGES = 10_000
PAYLOAD = 2048
OUTBOUND_LIMIT = 256 * 1024


class Fanout(AsyncWebsocketConsumer):
    groups: ClassVar[list[str]] = ["fan"]
    limits = ConnectionLimits(max_outbound_bytes=OUTBOUND_LIMIT)
    live: ClassVar[dict[str, Fanout]] = {}

    async def connect(self) -> None:
        self.live[self.scope["query_string"].decode()] = self
        await self.accept()

    async def fan_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def read_all(ws: ClientConnection) -> list[int]:
    seen = []
    while len(seen) < MESSAGES:
        frame = await asyncio.wait_for(ws.recv(), 30)
        seen.append(int(frame[:5]))
    return seen


async def drain_until_closed(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def test_a_client_that_never_reads_is_closed_and_the_others_get_everything() -> None:
    Fanout.live.clear()
    # Room for every message in each inbox: the outbox, not the layer, must do the bounding.
    layer = register_channel_layer("default", InMemoryChannelLayer(capacity=MESSAGES * 2))
    app = Starlette(routes=[WebSocketRoute("/fan", Fanout.as_asgi())])
    process = psutil.Process()
    async with serve(app) as url:
        # A tiny receive buffer and a one-frame queue: the slow client holds almost nothing.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        port = int(url.rsplit(":", 1)[1])
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        async with (
            connect(f"{url}/fan?slow", sock=sock, max_queue=1, compression=None) as slow,
            connect(f"{url}/fan?fast1", max_queue=None, compression=None) as fast1,
            connect(f"{url}/fan?fast2", max_queue=None, compression=None) as fast2,
        ):
            for _ in range(500):  # the handshakes complete before connect() returns
                if len(Fanout.live) == 3:
                    break
                await asyncio.sleep(0.01)
            readers = [asyncio.create_task(read_all(ws)) for ws in (fast1, fast2)]
            rss_before = process.memory_info().rss
            for i in range(MESSAGES):
                text = f"{i:05d}".ljust(PAYLOAD, "x")
                await layer.group_send("fan", {"type": "fan.message", "text": text})
                if i % 50 == 0:
                    await asyncio.sleep(0)  # let the consumers run, as a real sender would
            slow_outbox = Fanout.live["slow"].outbox
            for _ in range(1000):
                if slow_outbox.overflowed:
                    break
                await asyncio.sleep(0.01)
            assert slow_outbox.overflowed, "the slow client was never closed"
            code = await drain_until_closed(slow)
            received = await asyncio.gather(*readers)
            rss_growth = process.memory_info().rss - rss_before

    assert code == 3008
    assert received == [list(range(MESSAGES))] * 2  # every message, in order, to each
    assert slow_outbox.peak <= OUTBOUND_LIMIT
    # Everything sent was 20 MB per client; the server held at most the outbox bound for
    # the slow one. Generous margin: the fast clients' buffers live in this process too.
    assert rss_growth < 64 * 1024 * 1024, rss_growth
    assert layer.dropped_messages == 0
