"""The communicators themselves: helpers, timeouts and error surfacing."""

from __future__ import annotations

import asyncio
import contextlib
import inspect

import pytest
from fast_channels.testing import (
    ApplicationCommunicator,
    HttpCommunicator,
    WebsocketCommunicator,
)
from fast_channels.types import Receive, Scope, Send


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI WebSocket app: echoes text, sends 'late' 0.05 s after 'delay'."""
    assert scope["type"] == "websocket"
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept", "subprotocol": None})
        elif message["type"] == "websocket.receive":
            if message.get("text") == "delay":
                await asyncio.sleep(0.05)
                await send({"type": "websocket.send", "text": "late"})
            elif message.get("text") == "crash":
                raise KeyError("crashed inside the app")
            else:
                await send({"type": "websocket.send", "text": message.get("text")})
        else:
            return


async def scope_app(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": repr(sorted(scope.items()))})


async def test_scope_built_from_path_headers_and_subprotocols() -> None:
    ws = WebsocketCommunicator(
        scope_app,
        "/a%20b/c?x=1",
        headers=[("Origin", "http://example.com")],
        subprotocols=["chat"],
    )
    async with ws:
        await ws.connect()
        await ws.receive_from()
    assert ws.scope["path"] == "/a b/c"
    assert ws.scope["raw_path"] == b"/a%20b/c"
    assert ws.scope["query_string"] == b"x=1"
    assert ws.scope["headers"] == [(b"origin", b"http://example.com")]
    assert ws.scope["subprotocols"] == ["chat"]
    assert "path_params" not in ws.scope


async def test_receive_nothing_true_then_false_when_a_message_comes() -> None:
    async with WebsocketCommunicator(echo_app, "/") as ws:
        await ws.connect()
        assert await ws.receive_nothing() is True
        await ws.send_to(text_data="delay")
        assert await ws.receive_nothing(timeout=0.01) is True
        assert await ws.receive_nothing(timeout=0.5, interval=0.01) is False
        assert await ws.receive_from() == "late"
        await ws.disconnect()


async def test_receive_from_times_out_with_timeout_error() -> None:
    async with WebsocketCommunicator(echo_app, "/") as ws:
        await ws.connect()
        with pytest.raises(TimeoutError, match=r"sent nothing within 0\.05 s"):
            await ws.receive_from(timeout=0.05)


async def test_app_exception_surfaces_in_the_test() -> None:
    async with WebsocketCommunicator(echo_app, "/") as ws:
        await ws.connect()
        await ws.send_to(text_data="crash")
        with pytest.raises(KeyError, match="crashed inside the app"):
            await ws.receive_from()


async def test_unobserved_app_exception_surfaces_on_exit() -> None:
    with pytest.raises(KeyError, match="crashed inside the app"):
        async with WebsocketCommunicator(echo_app, "/") as ws:
            await ws.connect()
            await ws.send_to(text_data="crash")
            await asyncio.sleep(0.01)


async def test_disconnect_waits_for_the_app_to_finish() -> None:
    ws = WebsocketCommunicator(echo_app, "/")
    await ws.connect()
    await ws.disconnect()
    assert ws.task.done()


async def test_send_to_needs_exactly_one_payload() -> None:
    ws = WebsocketCommunicator(echo_app, "/")
    with pytest.raises(ValueError, match="exactly one"):
        await ws.send_to()
    with pytest.raises(ValueError, match="exactly one"):
        await ws.send_to(text_data="a", bytes_data=b"b")
    await ws.connect()
    await ws.disconnect()


async def test_receive_from_reports_an_unexpected_close() -> None:
    async def closer(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4004})

    async with WebsocketCommunicator(closer, "/") as ws:
        await ws.connect()
        with pytest.raises(AssertionError, match=r"Expected a websocket\.send frame"):
            await ws.receive_from()


async def test_application_communicator_wait_times_out_and_cancels() -> None:
    async def forever(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(10)

    comm = ApplicationCommunicator(forever, {"type": "http"})
    with pytest.raises(TimeoutError, match="did not finish"):
        await comm.wait(timeout=0.05)
    assert comm.task.cancelled()


async def test_receive_output_after_the_app_finished_quietly() -> None:
    async def quiet(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async with ApplicationCommunicator(quiet, {"type": "http"}) as comm:
        assert (await comm.receive_output())["status"] == 204
        with pytest.raises(RuntimeError, match="finished without sending"):
            await comm.receive_output()


async def test_an_app_that_swallows_one_cancel_is_cancelled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What Python 3.11's asyncio.wait_for() does when its future completes as the
    # cancel arrives; without the second cancel, leaving the block hung forever.
    monkeypatch.setattr("fast_channels.testing.application.CANCEL_GRACE", 0.2)
    cancels = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal cancels
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancels += 1  # swallowed
        await asyncio.Event().wait()

    async with asyncio.timeout(2), ApplicationCommunicator(app, {"type": "http"}):
        await asyncio.sleep(0)
    assert cancels == 1


async def test_an_app_that_ignores_cancellation_fails_the_test_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("fast_channels.testing.application.CANCEL_GRACE", 0.1)
    release = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    comm = ApplicationCommunicator(app, {"type": "http"})
    with pytest.raises(RuntimeError, match=r"swallows asyncio\.CancelledError"):
        async with asyncio.timeout(2), comm:
            await asyncio.sleep(0)
    release.set()
    await asyncio.wait((comm.task,), timeout=1)
    assert comm.task.done()


def test_http_communicator_has_django_channels_signature() -> None:
    # Positional parameters as in channels.testing.HttpCommunicator; ours add
    # keyword-only ones after them (body_chunks, path_params, client).
    params = inspect.signature(HttpCommunicator).parameters.values()
    positional = [
        (p.name, p.default)
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert positional == [
        ("application", inspect.Parameter.empty),
        ("method", inspect.Parameter.empty),
        ("path", inspect.Parameter.empty),
        ("body", b""),
        ("headers", None),
    ]
    assert all(p.kind is p.KEYWORD_ONLY for p in params if p.name not in dict(positional))
    timeout = inspect.signature(HttpCommunicator.get_response).parameters["timeout"]
    assert timeout.default == 1
