"""AsyncSseConsumer: frames, keep-alives, Last-Event-ID, closing, a client that stops reading."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import pytest
from fast_channels.consumer.sse import AsyncSseConsumer, format_event
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.testing import HttpCommunicator, ServerSentEvent, SseParser
from fast_channels.types import Message


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return register_channel_layer("default", InMemoryChannelLayer())  # type: ignore[return-value]


class Ticker(AsyncSseConsumer):
    groups: ClassVar[list[str]] = ["ticks"]
    keepalive_interval = None
    started: ClassVar[list[Ticker]] = []
    replayed: ClassVar[list[str]] = []

    async def connect(self) -> None:
        self.started.append(self)
        await self.accept(headers={"x-stream": "ticks"})

    async def tick(self, event: dict[str, Any]) -> None:
        if event.get("last"):
            await self.close()
            return
        await self.send_event({"n": event["n"]}, event="tick", id=str(event["n"]))

    async def tick_fail(self, event: dict[str, Any]) -> None:
        raise RuntimeError("tick handler exploded")

    async def replay(self, last_event_id: str) -> None:
        self.replayed.append(last_event_id)
        await super().replay(last_event_id)


@pytest.fixture(autouse=True)
def _reset_ticker() -> None:
    Ticker.started.clear()
    Ticker.replayed.clear()


def test_format_event_splits_lines_and_refuses_line_breaks_in_fields() -> None:
    frame = format_event("a\nb\r\nc", event="note", id="7", retry=500)
    assert frame == b"event: note\nid: 7\nretry: 500\ndata: a\ndata: b\ndata: c\n\n"
    with pytest.raises(ValueError, match="without line breaks"):
        format_event("x", id="1\n2")
    [event] = SseParser().feed(frame)
    assert (event.event, event.id, event.retry, event.data) == ("note", "7", 500, "a\nb\nc")


def test_parser_handles_split_chunks_comments_and_crlf() -> None:
    parser = SseParser()
    assert parser.feed(b": hi\r\n\r\ndata: o") == [
        ServerSentEvent(comments=["hi"]),
    ]
    assert parser.feed(b"ne\r") == []
    [event] = parser.feed(b"\ndata: two\n\n")
    assert event.data == "one\ntwo" and not event.is_comment


def test_only_blocks_with_a_data_line_are_dispatched_as_a_browser_does() -> None:
    opening, empty, named = SseParser().feed(b": open\nretry: 2000\n\ndata:\n\nevent: x\n\n")
    assert (opening.retry, opening.dispatched, opening.is_comment) == (2000, False, False)
    assert (empty.data, empty.dispatched) == ("", True)  # "data:" alone fires, with ""
    assert (named.event, named.dispatched) == ("x", False)


async def test_receive_event_skips_what_a_browser_would_not_fire() -> None:
    class Opening(AsyncSseConsumer):
        channel_layer_alias = None
        retry_ms = 1500  # the opening block carries retry: as well as its comment

        async def connect(self) -> None:
            await self.accept()
            await self.send_event("first")

    async with HttpCommunicator(Opening.as_asgi(), "GET", "/") as comm:
        await comm.get_response_start()
        assert (await comm.receive_event()).data == "first"
        await comm.disconnect()


async def test_layer_messages_become_events_and_close_ends_the_stream(
    layer: InMemoryChannelLayer,
) -> None:
    async with HttpCommunicator(Ticker.as_asgi(), "GET", "/ticks") as comm:
        status, headers = await comm.get_response_start()
        assert status == 200
        assert (b"content-type", b"text/event-stream; charset=utf-8") in headers
        assert (b"x-stream", b"ticks") in headers
        assert (await comm.receive_event(comments=True)).comments == ["stream open"]
        for n in (1, 2):
            await layer.group_send("ticks", {"type": "tick", "n": n})
        first, second = await comm.receive_event(), await comm.receive_event()
        assert (first.event, first.id, first.data) == ("tick", "1", '{"n": 1}')
        assert second.id == "2"
        await layer.group_send("ticks", {"type": "tick", "last": True})
        with pytest.raises(AssertionError, match="stream ended"):
            await comm.receive_event()
        await comm.wait()
    assert Ticker.replayed == []


async def test_sse_event_messages_need_no_handler(layer: InMemoryChannelLayer) -> None:
    async with HttpCommunicator(Ticker.as_asgi(), "GET", "/ticks") as comm:
        await comm.get_response_start()
        await layer.group_send(
            "ticks", {"type": "sse.event", "event": "x", "data": "hi", "id": "a"}
        )
        event = await comm.receive_event()
        assert (event.event, event.data, event.id) == ("x", "hi", "a")
        await comm.disconnect()


async def test_keep_alive_comments_fill_silence(layer: InMemoryChannelLayer) -> None:
    class Chatty(Ticker):
        keepalive_interval = 0.05

    async with HttpCommunicator(Chatty.as_asgi(), "GET", "/ticks") as comm:
        await comm.get_response_start()
        await comm.receive_event(comments=True)  # "stream open"
        for _ in range(2):
            assert (await comm.receive_event(comments=True)).comments == ["keep-alive"]
        await comm.disconnect()


async def test_last_event_id_is_passed_to_replay_and_nothing_is_replayed(
    layer: InMemoryChannelLayer,
) -> None:
    headers = [("Last-Event-ID", "41")]
    async with HttpCommunicator(Ticker.as_asgi(), "GET", "/ticks", headers=headers) as comm:
        await comm.get_response_start()
        await comm.receive_event(comments=True)
        assert await comm.receive_nothing()
        assert Ticker.replayed == ["41"]
        assert Ticker.started[0].last_event_id == "41"
        await comm.disconnect()


async def test_client_disconnect_leaves_the_group(layer: InMemoryChannelLayer) -> None:
    async with HttpCommunicator(Ticker.as_asgi(), "GET", "/ticks") as comm:
        await comm.get_response_start()
        channel = Ticker.started[0].channel_name
        await comm.disconnect()
    await layer.group_send("ticks", {"type": "tick", "n": 1})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.1)


async def test_handler_error_closes_the_stream_and_is_logged(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    async with HttpCommunicator(Ticker.as_asgi(), "GET", "/ticks") as comm:
        await comm.get_response_start()
        await layer.group_send("ticks", {"type": "tick", "n": 1})
        await layer.group_send("ticks", {"type": "tick.fail"})
        assert (await comm.receive_event()).id == "1"  # sent before the error: delivered
        with pytest.raises(AssertionError, match="stream ended"):
            await comm.receive_event()
        await comm.wait()
    assert "tick handler exploded" in caplog.text


@pytest.mark.parametrize(("method", "status"), [("POST", 405), ("HEAD", 200), ("OPTIONS", 204)])
async def test_only_get_streams(layer: InMemoryChannelLayer, method: str, status: int) -> None:
    response = await HttpCommunicator(Ticker.as_asgi(), method, "/ticks").get_response()
    assert response["status"] == status
    assert Ticker.started == []  # no stream was opened


async def test_a_client_that_stops_reading_is_cut_off_at_the_buffer_limit(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's send() blocks, as uvicorn's does when the socket buffer is full."""

    class Small(Ticker):
        max_buffer_bytes = 2000

    opened, stalled = asyncio.Event(), asyncio.Event()
    sent: list[Message] = []
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never hangs up
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if len(sent) == 2:
            opened.set()
        if len(sent) >= 3:  # headers, the opening comment, then the first event stalls
            stalled.set()
            await asyncio.Event().wait()

    scope = HttpCommunicator(Small.as_asgi(), "GET", "/ticks").scope
    app = asyncio.create_task(Small.as_asgi()(scope, receive, send))
    await asyncio.wait_for(opened.wait(), 1)
    await layer.group_send("ticks", {"type": "tick", "n": -1})
    await asyncio.wait_for(stalled.wait(), 1)
    consumer = Small.started[0]
    peak = 0
    with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
        for n in range(1000):
            await layer.group_send("ticks", {"type": "tick", "n": n})
            await asyncio.sleep(0)
            peak = max(peak, consumer._buffered)
            if app.done():
                break
        await asyncio.wait_for(app, 1)  # the consumer ended by itself
    assert peak <= 2000
    assert "closing its stream" in caplog.text
    assert n < 200  # cut off long before the sender ran out of messages
