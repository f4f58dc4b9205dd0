"""Test a WebSocket application (a consumer, a middleware stack or a router)."""

# The communicator API takes timeouts as arguments on purpose (tests read better).
# ruff: noqa: ASYNC109

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from ..types import ASGIApp, Message, Scope
from .application import ApplicationCommunicator


class WebsocketCommunicator(ApplicationCommunicator):
    """Plays the client side of one WebSocket connection to ``app``.

    ``path`` may carry a query string (``"/ws/room/lobby?token=x"``). ``headers``
    are pairs of str or bytes; ``subprotocols`` is what the client offers.

    Path parameters: pass ``path_params={"room_name": "lobby"}`` to call a
    consumer app directly, or pass a Starlette router/app as ``app`` and let it
    route ``path`` (it fills ``scope["path_params"]`` itself).

    ``connect()`` returns ``(True, subprotocol)`` when the app accepts and
    ``(False, close_code)`` when it rejects; headers sent on accept are in
    :attr:`accept_headers`.
    """

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        headers: Iterable[tuple[str | bytes, str | bytes]] | None = None,
        subprotocols: Iterable[str] | None = None,
        spec_version: str = "2.4",
        path_params: Mapping[str, Any] | None = None,
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> None:
        parts = urlsplit(path)
        scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": spec_version},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": client,
            "root_path": "",
            "path": unquote(parts.path),
            "raw_path": parts.path.encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "headers": [(_lower_bytes(k), _bytes(v)) for k, v in headers or ()],
            "subprotocols": list(subprotocols or ()),
            "extensions": {},
        }
        if path_params is not None:
            scope["path_params"] = dict(path_params)
        super().__init__(app, scope)
        self.accept_headers: list[tuple[bytes, bytes]] = []

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        """Send the handshake; return ``(True, subprotocol)`` or ``(False, close_code)``."""
        await self.send_input({"type": "websocket.connect"})
        message = await self.receive_output(timeout)
        if message["type"] == "websocket.accept":
            self.accept_headers = list(message.get("headers") or [])
            return True, message.get("subprotocol")
        if message["type"] == "websocket.close":
            return False, message.get("code", 1000)
        raise AssertionError(f"Expected websocket.accept or websocket.close, got {message!r}")

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send one frame to the app (exactly one of ``text_data`` or ``bytes_data``)."""
        if (text_data is None) == (bytes_data is None):
            raise ValueError("send_to() needs exactly one of text_data or bytes_data")
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        """Send ``data`` encoded as a JSON text frame."""
        await self.send_to(text_data=json.dumps(data))

    async def receive_from(self, timeout: float = 1) -> str | bytes:
        """Return the next frame the app sent (text or bytes)."""
        message = await self.receive_output(timeout)
        if message["type"] != "websocket.send":
            raise AssertionError(f"Expected a websocket.send frame, got {message!r}")
        text = message.get("text")
        frame: str | bytes = text if text is not None else message["bytes"]
        return frame

    async def receive_json_from(self, timeout: float = 1) -> Any:
        """Return the next frame, which must be a JSON text frame, decoded."""
        data = await self.receive_from(timeout)
        if not isinstance(data, str):
            raise AssertionError(f"Expected a JSON text frame, got bytes {data!r}")
        return json.loads(data)

    async def receive_close(self, timeout: float = 1) -> int:
        """Wait for the app to close the socket; return the close code."""
        message: Message = await self.receive_output(timeout)
        if message["type"] != "websocket.close":
            raise AssertionError(f"Expected websocket.close, got {message!r}")
        code: int = message.get("code", 1000)
        return code

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        """Tell the app the client went away, then wait for it to finish."""
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def _bytes(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


def _lower_bytes(value: str | bytes) -> bytes:
    return _bytes(value).lower()
