"""Per-connection limits: frame size, rate, outbound buffer (communicator, fake clock)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fast_channels.consumer.limits import ConnectionLimits, FrameLimiter, TokenBucket
from fast_channels.consumer.outbox import Outbox
from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from fast_channels.testing import WebsocketCommunicator
from fast_channels.types import Message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_steady_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back at 2 per second
    assert [bucket.allow(), bucket.allow()] == [True, False]
    clock.now += 60  # refills, but never beyond the burst
    assert sum(bucket.allow() for _ in range(10)) == 3


def test_frame_size_is_measured_in_utf8_bytes() -> None:
    limiter = FrameLimiter(ConnectionLimits(max_frame_bytes=4, rate=None))
    assert limiter.check("abcd", None) is None
    exceeded = limiter.check("éé€", None)  # 3 characters, 7 bytes
    assert exceeded is not None and exceeded.code == "frame_too_large"
    assert exceeded.close_code == 1009 and "7 bytes" in exceeded.message
    assert limiter.check(None, b"12345") is not None
    assert limiter.check("x" * 5000, None) is not None


def test_refused_frames_do_not_use_up_rate_tokens() -> None:
    clock = Clock()
    limiter = FrameLimiter(ConnectionLimits(max_frame_bytes=2, rate=1, burst=1), clock)
    assert limiter.check("too long", None) is not None
    assert limiter.check("ok", None) is None
    exceeded = limiter.check("ok", None)
    assert exceeded is not None and (exceeded.code, exceeded.close_code) == ("rate_limited", 1008)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_frame_bytes": 0},
        {"rate": -1.0},
        {"burst": 0},
        {"max_outbound_bytes": True},
        {"max_concurrent_handlers": 0},
        {"max_concurrent_handlers": None},
        {"max_concurrent_handlers": 2.5},
    ],
)
def test_bad_limits_are_refused_with_the_field_name(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=f"ConnectionLimits.{next(iter(kwargs))}"):
        ConnectionLimits(**kwargs)


class Plain(AsyncWebsocketConsumer):
    channel_layer_alias = None
    limits = ConnectionLimits(max_frame_bytes=10, rate=0.001, burst=3)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=f"got {text_data}")


class Json(AsyncJsonWebsocketConsumer):
    channel_layer_alias = None
    limits = ConnectionLimits(max_frame_bytes=30, rate=0.001, burst=2)

    async def receive_json(self, content: Any) -> None:
        await self.send_json({"echo": content})


async def test_plain_consumer_closes_1009_on_a_large_frame() -> None:
    async with WebsocketCommunicator(Plain.as_asgi(), "/") as ws:
        await ws.connect()
        await ws.send_to(text_data="x" * 11)
        assert await ws.receive_close() == 1009


async def test_plain_consumer_closes_1008_past_the_rate() -> None:
    async with WebsocketCommunicator(Plain.as_asgi(), "/") as ws:
        await ws.connect()
        for i in range(3):
            await ws.send_to(text_data=str(i))
            assert await ws.receive_from() == f"got {i}"
        await ws.send_to(text_data="3")
        assert await ws.receive_close() == 1008


async def test_json_consumer_replies_with_an_error_event_and_stays_open() -> None:
    async with WebsocketCommunicator(Json.as_asgi(), "/") as ws:
        await ws.connect()
        await ws.send_json_to({"text": "x" * 40})
        error = await ws.receive_json_from()
        assert error["type"] == "error" and error["code"] == "frame_too_large"
        await ws.send_json_to(1)
        await ws.send_json_to(2)
        assert [await ws.receive_json_from() for _ in range(2)] == [{"echo": 1}, {"echo": 2}]
        await ws.send_json_to(3)
        assert (await ws.receive_json_from())["code"] == "rate_limited"
        assert await ws.receive_nothing()
        await ws.disconnect()


async def test_default_limits_are_documented_values() -> None:
    limits = AsyncWebsocketConsumer.limits
    assert (limits.max_frame_bytes, limits.rate, limits.burst) == (65536, 20.0, 40)
    assert limits.max_outbound_bytes == 10 * 1024 * 1024


class Blocked:
    """An ASGI send that waits until released, like a server whose client stopped reading."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "websocket.send":
            await self.release.wait()
        self.sent.append(message)


async def test_outbox_never_waits_and_closes_3008_past_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    send = Blocked()
    overflows: list[int] = []
    outbox = Outbox(send, max_bytes=100, on_overflow=overflows.append)
    for _ in range(10):
        await asyncio.wait_for(outbox.send({"type": "websocket.send", "text": "x" * 10}), 0.1)
    assert outbox.buffered == outbox.peak == 100 and overflows == []
    await outbox.send({"type": "websocket.send", "text": "y"})  # 101 bytes: too slow
    assert overflows == [101] and outbox.buffered == 0
    await outbox.send({"type": "websocket.send", "text": "dropped"})
    await outbox.aclose()
    assert send.sent == [{"type": "websocket.close", "code": 3008, "reason": "client too slow"}]


async def test_outbox_keeps_order_of_frames_and_close() -> None:
    send = Blocked()
    outbox = Outbox(send, max_bytes=None, on_overflow=lambda size: None)
    await outbox.send({"type": "websocket.send", "text": "a"})
    await outbox.send({"type": "websocket.send", "bytes": b"b"})
    await outbox.send({"type": "websocket.close", "code": 1000})
    await outbox.send({"type": "websocket.send", "text": "after close"})
    send.release.set()
    await asyncio.wait_for(outbox.aclose(), 1)
    assert [m.get("text") or m.get("bytes") or m["type"] for m in send.sent] == [
        "a",
        b"b",
        "websocket.close",
    ]


class Broadcaster(AsyncWebsocketConsumer):
    channel_layer_alias = None
    limits = ConnectionLimits(max_outbound_bytes=50)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        for _ in range(10):
            await self.send(text_data="0123456789")


async def test_consumer_logs_and_closes_a_slow_client(caplog: pytest.LogCaptureFixture) -> None:
    # A server whose client stopped reading: websocket.send never returns.
    send = Blocked()
    events: asyncio.Queue[Message] = asyncio.Queue()
    for event in ({"type": "websocket.connect"}, {"type": "websocket.receive", "text": "go"}):
        events.put_nowait(event)
    scope = {"type": "websocket", "path": "/", "headers": [], "subprotocols": []}
    with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
        task = asyncio.create_task(Broadcaster()(scope, events.get, send))
        for _ in range(100):
            if any(m["type"] == "websocket.close" for m in send.sent):
                break
            await asyncio.sleep(0.01)
        events.put_nowait({"type": "websocket.disconnect", "code": 1006})
        await asyncio.wait_for(task, 5)
    assert [m["type"] for m in send.sent] == ["websocket.accept", "websocket.close"]
    assert send.sent[-1]["code"] == 3008
    assert "the client is not reading (60 bytes waiting, limit 50)" in caplog.text
