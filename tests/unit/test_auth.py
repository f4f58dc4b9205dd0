"""AuthMiddleware, BearerTokenBackend and authentication_required, without a server."""

from __future__ import annotations

import logging

import pytest
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.middleware.auth import AuthMiddleware, BearerTokenBackend
from fast_channels.testing import WebsocketCommunicator
from starlette.authentication import AuthCredentials, AuthenticationError, SimpleUser
from starlette.requests import HTTPConnection


class Members(AsyncWebsocketConsumer):
    channel_layer_alias = None
    authentication_required = True

    async def connect(self) -> None:
        await self.accept(subprotocol=(self.scope["subprotocols"] or [None])[0])
        await self.send(text_data=f"{self.scope['user'].username} {self.scope['subprotocols']}")


class Tokens(BearerTokenBackend):
    async def verify_token(
        self, token: str, conn: HTTPConnection
    ) -> tuple[AuthCredentials, SimpleUser]:
        if token != "good":
            raise AuthenticationError("bad token")
        return AuthCredentials(["authenticated"]), SimpleUser("ada")


def app(**sources: str) -> AuthMiddleware:
    return AuthMiddleware(Members.as_asgi(), Tokens(**sources))


@pytest.mark.parametrize(
    ("path", "headers", "subprotocols"),
    [
        ("/", [("authorization", "Bearer good")], []),
        ("/", [("cookie", "theme=dark; tok=good")], []),
        ("/?t=good", [], []),
        ("/", [], ["chat", "bearer.good"]),
    ],
)
async def test_every_token_source_authenticates(
    path: str, headers: list[tuple[str, str]], subprotocols: list[str]
) -> None:
    asgi = app(cookie="tok", query_param="t", subprotocol_prefix="bearer.")
    async with WebsocketCommunicator(asgi, path, headers=headers, subprotocols=subprotocols) as ws:
        connected, subprotocol = await ws.connect()
        assert connected
        # The token entry never reaches the consumer, so it cannot be echoed back.
        expected = ["chat"] if subprotocols else []
        assert await ws.receive_from() == f"ada {expected}"
        assert subprotocol == (expected[0] if expected else None)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", []),  # anonymous: the consumer refuses
        ("/?t=bad", []),  # invalid: the middleware refuses
        ("/", [("authorization", "Token good")]),  # wrong scheme
    ],
)
async def test_refused_before_accept(path: str, headers: list[tuple[str, str]]) -> None:
    async with WebsocketCommunicator(app(query_param="t"), path, headers=headers) as ws:
        assert await ws.connect() == (False, 1008)


async def test_required_user_without_middleware_is_a_logged_configuration_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with WebsocketCommunicator(Members.as_asgi(), "/") as ws:
        with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
            assert await ws.connect() == (False, 1011)
    assert "the scope has no 'user'" in caplog.text
    assert "AuthMiddleware" in caplog.text


def test_empty_subprotocol_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="subprotocol_prefix"):
        Tokens(subprotocol_prefix="")
