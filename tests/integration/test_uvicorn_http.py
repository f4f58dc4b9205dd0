"""HTTP and SSE consumers behind a real uvicorn server, with real HTTP clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest
from fast_channels.consumer.http import AsyncHttpConsumer
from fast_channels.consumer.sse import AsyncSseConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.testing import ServerSentEvent, SseParser
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Route

from tests.uvicorn_server import serve


class Stream(AsyncSseConsumer):
    """Joins the group named in the path; records when it ends."""

    keepalive_interval = 0.2
    max_buffer_bytes = 64 * 1024
    ended: ClassVar[asyncio.Queue[str]]

    async def connect(self) -> None:
        self.group = f"topic_{self.scope['path_params']['topic']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)
        self.ended.put_nowait(self.channel_name)

    async def topic_message(self, event: dict[str, Any]) -> None:
        await self.send_event(event["text"], event="message", id=str(event["n"]))


class Upload(AsyncHttpConsumer):
    channel_layer_alias = None
    max_body_size = 1000

    async def handle(self, body: bytes) -> None:
        if body == b"boom":
            raise RuntimeError("upload handler exploded")
        await self.send_response(200, f"got {len(body)} bytes".encode())


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, InMemoryChannelLayer]]:
    layer = InMemoryChannelLayer()
    register_channel_layer("default", layer)
    Stream.ended = asyncio.Queue()
    http_app = Starlette(
        routes=[Route("/topic/{topic}", Stream.as_asgi()), Route("/upload", Upload.as_asgi())]
    )
    app = FastAPI()
    app.mount("/sse", http_app)
    async with serve(app) as url:
        yield url.replace("ws://", "http://"), layer


async def read_event(lines: AsyncIterator[bytes], parser: SseParser) -> ServerSentEvent:
    """The next event of the stream, keep-alives included."""
    while True:
        chunk = await asyncio.wait_for(anext(lines), 5)
        events = parser.feed(chunk)
        if events:
            [event] = events  # this test sends one event at a time
            return event


async def test_a_streaming_client_reads_layer_messages_and_keep_alives(
    server: tuple[str, InMemoryChannelLayer],
) -> None:
    url, layer = server
    parser = SseParser()
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("GET", f"{url}/sse/topic/news") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        chunks = response.aiter_bytes()
        assert (await read_event(chunks, parser)).comments == ["stream open"]
        await layer.group_send("topic_news", {"type": "topic.message", "text": "hello", "n": 1})
        event = await read_event(chunks, parser)
        assert (event.event, event.data, event.id) == ("message", "hello", "1")
        assert (await read_event(chunks, parser)).comments == ["keep-alive"]


async def test_a_client_that_disconnects_ends_its_consumer(
    server: tuple[str, InMemoryChannelLayer],
) -> None:
    url, layer = server
    async with httpx.AsyncClient(timeout=5) as client:
        async with client.stream("GET", f"{url}/sse/topic/gone") as response:
            assert response.status_code == 200
            await anext(response.aiter_bytes())
        channel = await asyncio.wait_for(Stream.ended.get(), 5)
    await layer.group_send("topic_gone", {"type": "topic.message", "text": "late", "n": 2})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.2)


async def test_a_client_that_stops_reading_is_cut_off(
    server: tuple[str, InMemoryChannelLayer],
) -> None:
    url, layer = server
    port = int(url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /sse/topic/slow HTTP/1.1\r\nHost: test\r\n\r\n")
    try:
        payload = "x" * 8000
        for n in range(2000):
            await layer.group_send("topic_slow", {"type": "topic.message", "text": payload, "n": n})
            await asyncio.sleep(0.001)
            if not Stream.ended.empty():
                break
        await asyncio.wait_for(Stream.ended.get(), 5)
        # And the server closed the connection: reading what is queued ends in EOF.
        unread = await asyncio.wait_for(asyncio.to_thread(read_to_eof, sock), 30)
    finally:
        sock.close()
    # Cut off after the kernel's socket buffers (a few MB on loopback), uvicorn's
    # 64 KiB and ours filled up: about 370 of the 2000 events (16 MB) on this machine.
    assert n < 1000, n
    assert unread < n * 8100, (unread, n)  # no more than what was sent before the cut


def read_to_eof(sock: socket.socket) -> int:
    """Read until the peer closes; return how many bytes were still on the way."""
    sock.settimeout(20)
    total = 0
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(1 << 20):
            total += len(chunk)
    return total


async def test_oversized_body_gets_413_from_the_headers_alone(
    server: tuple[str, InMemoryChannelLayer],
) -> None:
    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /sse/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\nabc")
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413")


async def test_a_handler_error_gets_500_and_the_server_keeps_serving(
    server: tuple[str, InMemoryChannelLayer], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = server
    async with httpx.AsyncClient(timeout=5) as client:
        failed = await client.post(f"{url}/sse/upload", content=b"boom")
        assert (failed.status_code, failed.text) == (500, "Internal Server Error")
        ok = await client.post(f"{url}/sse/upload", content=b"12345")
        assert (ok.status_code, ok.text) == (200, "got 5 bytes")
        too_big = await client.post(f"{url}/sse/upload", content=b"x" * 5000)
        assert too_big.status_code == 413
    assert "upload handler exploded" in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("HEAD", "/sse/topic/t", 200, None),
        ("POST", "/sse/topic/t", 405, "GET, HEAD, OPTIONS"),
        ("OPTIONS", "/sse/topic/t", 204, "GET, HEAD, OPTIONS"),
        ("PATCH", "/sse/upload", 200, None),
        ("TRACE", "/sse/upload", 405, "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
    ],
)
async def test_methods(
    server: tuple[str, InMemoryChannelLayer],
    method: str,
    path: str,
    status: int,
    allow: str | None,
) -> None:
    url, _ = server
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.request(method, url + path)
    assert response.status_code == status
    assert response.headers.get("allow") == allow
