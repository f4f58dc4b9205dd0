"""BaseMiddleware, OriginValidator and WebsocketDenier."""

from __future__ import annotations

from typing import Any

import pytest
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.middleware import BaseMiddleware, OriginValidator, WebsocketDenier
from fast_channels.testing import ApplicationCommunicator, WebsocketCommunicator
from fast_channels.types import Receive, Scope, Send


class Hello(AsyncWebsocketConsumer):
    channel_layer_alias = None

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=str(self.scope.get("user", "anonymous")))


async def _connect(app: Any, origin: str | None) -> tuple[bool, Any]:
    headers = [("origin", origin)] if origin is not None else []
    async with WebsocketCommunicator(app, "/", headers=headers) as ws:
        return await ws.connect()


async def test_base_middleware_adds_to_a_copy_of_the_scope() -> None:
    class UserMiddleware(BaseMiddleware):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scope = dict(scope, user="alice")
            await super().__call__(scope, receive, send)

    ws = WebsocketCommunicator(UserMiddleware(Hello.as_asgi()), "/")
    async with ws:
        await ws.connect()
        assert await ws.receive_from() == "alice"
    assert "user" not in ws.scope


async def test_base_middleware_scope_changes_inside_do_not_leak_out() -> None:
    async def mutate(scope: Scope, receive: Receive, send: Send) -> None:
        scope["mutated"] = True

    scope: dict[str, Any] = {"type": "http"}
    async with ApplicationCommunicator(BaseMiddleware(mutate), scope) as comm:
        await comm.wait()
    assert "mutated" not in scope


@pytest.mark.parametrize(
    ("allowed", "origin", "ok"),
    [
        (["https://example.com"], "https://example.com", True),
        (["https://example.com"], "https://example.com:443", True),
        (["https://example.com"], "http://example.com", False),
        (["https://example.com"], "https://example.com:8443", False),
        (["https://example.com"], "https://evil.com", False),
        (["http://localhost:8000"], "http://localhost:8000", True),
        (["http://localhost:8000"], "http://localhost:9000", False),
        (["localhost"], "http://localhost:9000", True),
        (["*.example.com"], "https://chat.example.com", True),
        (["*.example.com"], "https://a.b.example.com", True),
        (["*.example.com"], "https://example.com", False),
        (["*.example.com"], "https://badexample.com", False),
        (["EXAMPLE.com"], "https://Example.COM", True),
        (["*"], "https://anything.test", True),
        (["*"], None, True),
        (["https://example.com"], None, False),
        (["https://example.com"], "null", False),
        (["https://example.com"], "not a url", False),
        ([], "https://example.com", False),
    ],
)
async def test_origin_validator(allowed: list[str], origin: str | None, ok: bool) -> None:
    connected, code = await _connect(OriginValidator(Hello.as_asgi(), allowed), origin)
    assert connected is ok
    if not ok:
        assert code == 1008


async def test_origin_validator_lets_http_through() -> None:
    async def http_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    app = OriginValidator(http_app, ["https://example.com"])
    async with ApplicationCommunicator(app, {"type": "http", "headers": []}) as comm:
        assert (await comm.receive_output())["status"] == 200


@pytest.mark.parametrize("bad", ["https://", "https://example.com/path", "", "http://h:port"])
async def test_origin_validator_rejects_patterns_it_cannot_understand(bad: str) -> None:
    with pytest.raises(ValueError, match=r"not understood|non-empty"):
        OriginValidator(Hello.as_asgi(), [bad])


async def test_origin_validator_wants_a_list_not_a_str() -> None:
    with pytest.raises(TypeError, match="list of origins"):
        OriginValidator(Hello.as_asgi(), "https://example.com")


async def test_websocket_denier_rejects_every_handshake() -> None:
    async with WebsocketCommunicator(WebsocketDenier(), "/") as ws:
        assert await ws.connect() == (False, 1008)
        await ws.wait()


async def test_websocket_denier_refuses_other_scopes() -> None:
    async with ApplicationCommunicator(WebsocketDenier(), {"type": "http"}) as comm:
        with pytest.raises(TypeError, match="only serves websocket scopes"):
            await comm.wait()
