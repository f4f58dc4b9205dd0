"""AsyncHttpConsumer through HttpCommunicator: responses, streaming, bad input, errors."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

import pytest
from fast_channels.consumer.http import AsyncHttpConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.testing import HttpCommunicator, WebsocketCommunicator
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Route


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return register_channel_layer("default", InMemoryChannelLayer())  # type: ignore[return-value]


class EchoBody(AsyncHttpConsumer):
    """Answers with what it got: method, query string and body."""

    channel_layer_alias = None
    max_body_size = 100

    async def handle(self, body: bytes) -> None:
        if body == b"boom":
            raise RuntimeError("handler exploded")
        text = f"{self.method} {self.scope['query_string'].decode()} {body.decode()}"
        await self.send_response(
            201, text.encode(), headers={"content-type": "text/plain", "X-Echo": "yes"}
        )


class LongPoll(AsyncHttpConsumer):
    """Holds the response open until a layer message answers it."""

    groups: ClassVar[list[str]] = ["waiters"]
    ended: ClassVar[list[str]] = []

    async def handle(self, body: bytes) -> None:
        await self.send_headers(headers=[("content-type", "text/plain")])
        await self.send_body(b"waiting;", more_body=True)

    async def poll_answer(self, event: dict[str, str]) -> None:
        await self.send_body(event["text"].encode())

    async def disconnect(self) -> None:
        self.ended.append(self.channel_name)


async def test_whole_response_with_query_string_and_headers() -> None:
    comm = HttpCommunicator(EchoBody.as_asgi(), "post", "/echo?page=2", body=b"hello")
    response = await comm.get_response()
    assert response["status"] == 201
    assert response["body"] == b"POST page=2 hello"
    assert (b"x-echo", b"yes") in response["headers"]


async def test_scope_has_the_unquoted_path_and_upper_case_method() -> None:
    comm = HttpCommunicator(EchoBody.as_asgi(), "get", "/a%20b?q=%20x")
    assert comm.scope["path"] == "/a b"
    assert comm.scope["raw_path"] == b"/a%20b"
    assert comm.scope["query_string"] == b"q=%20x"
    assert comm.scope["method"] == "GET"


async def test_a_body_in_several_chunks_is_joined() -> None:
    comm = HttpCommunicator(EchoBody.as_asgi(), "PUT", "/", body=b"abcdefghij", body_chunks=4)
    assert (await comm.get_response())["body"] == b"PUT  abcdefghij"


async def test_declared_body_over_the_limit_gets_413_before_any_body_is_read() -> None:
    headers = [("content-length", "5000")]
    comm = HttpCommunicator(EchoBody.as_asgi(), "POST", "/", headers=headers)
    # Nothing but the headers: the app must answer without waiting for the body.
    message = await comm.receive_output()
    assert (message["type"], message["status"]) == ("http.response.start", 413)
    assert b"larger than 100 bytes" in (await comm.receive_output())["body"]
    await comm.wait()


async def test_streamed_body_over_the_limit_gets_413_at_the_chunk_that_crosses_it() -> None:
    # No Content-Length (a chunked upload): the limit applies to the bytes received.
    comm = HttpCommunicator(EchoBody.as_asgi(), "POST", "/", body=b"x" * 180, body_chunks=3)
    response = await comm.get_response()
    assert response["status"] == 413
    assert comm._input.qsize() == 1  # the third chunk was never read


async def test_invalid_content_length_gets_400() -> None:
    headers = [("content-length", "-1")]
    response = await HttpCommunicator(
        EchoBody.as_asgi(), "POST", "/", headers=headers
    ).get_response()
    assert response["status"] == 400


async def test_handler_error_gets_one_500_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
        comm = HttpCommunicator(EchoBody.as_asgi(), "POST", "/", body=b"boom")
        response = await comm.get_response()
        assert await comm.receive_nothing()  # one response, nothing after it
    assert response["status"] == 500
    assert response["body"] == b"Internal Server Error"
    assert "handler exploded" in caplog.text
    # The next request is served as usual.
    again = await HttpCommunicator(EchoBody.as_asgi(), "POST", "/", body=b"ok").get_response()
    assert again["status"] == 201


async def test_handle_that_sends_nothing_gets_a_500_that_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Silent(AsyncHttpConsumer):
        channel_layer_alias = None

        async def handle(self, body: bytes) -> None:
            pass

    response = await HttpCommunicator(Silent.as_asgi(), "GET", "/").get_response()
    assert response["status"] == 500
    assert "returned without sending a response" in caplog.text


@pytest.mark.parametrize(
    ("method", "status", "allow"),
    [
        ("DELETE", 405, b"GET, POST, HEAD, OPTIONS"),
        ("BREW", 405, b"GET, POST, HEAD, OPTIONS"),
        ("OPTIONS", 204, b"GET, POST, HEAD, OPTIONS"),
    ],
)
async def test_methods_outside_allowed_methods(method: str, status: int, allow: bytes) -> None:
    class GetPost(EchoBody):
        allowed_methods = ("GET", "POST")

    response = await HttpCommunicator(GetPost.as_asgi(), method, "/").get_response()
    assert response["status"] == status
    assert dict(response["headers"])[b"allow"] == allow


async def test_head_is_served_like_get_without_the_body() -> None:
    response = await HttpCommunicator(EchoBody.as_asgi(), "HEAD", "/").get_response()
    assert response["status"] == 201
    assert response["body"] == b""


async def test_long_poll_is_answered_by_a_layer_message(layer: InMemoryChannelLayer) -> None:
    LongPoll.ended.clear()
    async with HttpCommunicator(LongPoll.as_asgi(), "GET", "/poll") as comm:
        assert (await comm.get_response_start())[0] == 200
        assert await comm.receive_body() == b"waiting;"
        assert not comm.response_complete
        await layer.group_send("waiters", {"type": "poll.answer", "text": "done"})
        assert await comm.receive_body() == b"done"
        assert comm.response_complete
        await comm.wait()
    assert len(LongPoll.ended) == 1


async def test_client_leaving_mid_stream_ends_the_consumer_and_leaves_its_groups(
    layer: InMemoryChannelLayer,
) -> None:
    LongPoll.ended.clear()
    async with HttpCommunicator(LongPoll.as_asgi(), "GET", "/poll") as comm:
        await comm.get_response_start()
        await comm.receive_body()
        await comm.disconnect()
    [channel] = LongPoll.ended
    await layer.group_send("waiters", {"type": "poll.answer", "text": "too late"})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.1)


async def test_path_params_arrive_through_a_mounted_route() -> None:
    class Item(AsyncHttpConsumer):
        channel_layer_alias = None

        async def handle(self, body: bytes) -> None:
            await self.send_response(200, self.scope["path_params"]["item_id"].encode())

    app = FastAPI()
    app.mount("/api", Starlette(routes=[Route("/items/{item_id}", Item.as_asgi())]))
    response = await HttpCommunicator(app, "GET", "/api/items/42").get_response()
    assert (response["status"], response["body"]) == (200, b"42")


async def test_sending_twice_or_out_of_order_fails_loudly() -> None:
    class Twice(AsyncHttpConsumer):
        channel_layer_alias = None

        async def handle(self, body: bytes) -> None:
            with pytest.raises(RuntimeError, match="before send_headers"):
                await self.send_body(b"x")
            await self.send_response(200, b"one")
            with pytest.raises(RuntimeError, match="already started"):
                await self.send_headers()
            with pytest.raises(RuntimeError, match="already complete"):
                await self.send_body(b"two")

    assert (await HttpCommunicator(Twice.as_asgi(), "GET", "/").get_response())["body"] == b"one"


async def test_a_str_body_is_refused_with_a_hint(caplog: pytest.LogCaptureFixture) -> None:
    class Text(AsyncHttpConsumer):
        channel_layer_alias = None

        async def handle(self, body: bytes) -> None:
            await self.send_headers()
            await self.send_body("text")  # type: ignore[arg-type]  # the mistake under test

    response = await HttpCommunicator(Text.as_asgi(), "GET", "/").get_response()
    # The status was out already; the error ends the response where it is.
    assert (response["status"], response["body"]) == (200, b"")
    assert "send_body() takes bytes, got str; encode it." in caplog.text


async def test_mounting_on_a_websocket_route_fails_with_a_hint() -> None:
    async with WebsocketCommunicator(EchoBody.as_asgi(), "/echo") as ws:
        with pytest.raises(TypeError, match="mount it with Route, not WebSocketRoute"):
            await ws.connect()
