"""HTTP and SSE consumer counters: requests in progress, statuses, body parts, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from fast_channels.consumer.http import AsyncHttpConsumer
from fast_channels.consumer.sse import AsyncSseConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.metrics import ConsumerStats, consumer_stats, reset_consumer_stats
from fast_channels.testing import HttpCommunicator


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    reset_consumer_stats()
    yield
    reset_consumer_stats()


class Hello(AsyncHttpConsumer):
    channel_layer_alias = None
    max_body_size = 10

    async def handle(self, body: bytes) -> None:
        if body == b"boom":
            raise RuntimeError("handler exploded")
        if body == b"who":
            await self.send_response(403, b"no")
            return
        await self.send_headers(headers={"content-type": "text/plain"})
        await self.send_body(b"hello ", more_body=True)
        await self.send_body(b"world")


class Ticks(AsyncSseConsumer):
    groups: ClassVar[list[str]] = ["ticks"]
    keepalive_interval = None

    async def tick(self, event: dict[str, Any]) -> None:
        await self.send_event({"n": event["n"]}, event="tick")


def stats(cls: type) -> ConsumerStats:
    return consumer_stats()[f"{__name__}.{cls.__qualname__}"]


async def test_statuses_body_parts_and_errors_are_counted_per_request() -> None:
    ok = await HttpCommunicator(Hello.as_asgi(), "POST", "/", body=b"hi").get_response()
    assert ok["body"] == b"hello world"
    denied = await HttpCommunicator(Hello.as_asgi(), "POST", "/", body=b"who").get_response()
    failed = await HttpCommunicator(Hello.as_asgi(), "POST", "/", body=b"boom").get_response()
    big = await HttpCommunicator(Hello.as_asgi(), "POST", "/", body=b"x" * 11).get_response()
    assert [r["status"] for r in (ok, denied, failed, big)] == [200, 403, 500, 413]

    counted = stats(Hello)
    assert counted.open_connections == 0
    assert (counted.accepted, counted.denied) == (1, 1)  # 500 and 413 are neither
    assert counted.handler_errors == 1
    assert counted.frames_in == 4  # one body chunk per request (no Content-Length: read, then 413)
    assert counted.frames_out == 2 + 1 + 1 + 1  # two parts, then one body per reply
    assert counted.close_codes == {200: 1, 403: 1, 500: 1, 413: 1}


async def test_an_open_event_stream_is_one_open_connection_until_it_ends() -> None:
    layer = register_channel_layer("default", InMemoryChannelLayer())
    stream = HttpCommunicator(Ticks.as_asgi(), "GET", "/events")
    await stream.send_request()
    status, _ = await stream.get_response_start()
    assert status == 200
    await layer.group_send("ticks", {"type": "tick", "n": 1})
    event = await stream.receive_event()
    assert event.data == '{"n": 1}'
    assert stats(Ticks).open_connections == 1

    await stream.disconnect()
    counted = stats(Ticks)
    assert counted.open_connections == 0
    assert counted.accepted == 1
    assert counted.frames_out >= 2  # the opening comment and the event
    assert counted.close_codes == {200: 1}
