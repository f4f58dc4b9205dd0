"""Test an HTTP application (a consumer, a Starlette/FastAPI app): whole or streamed."""

# The communicator API takes timeouts as arguments on purpose (tests read better).
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

from ..types import ASGIApp, Message, Scope
from .application import ApplicationCommunicator
from .sse import ServerSentEvent, SseParser


class HttpResponse(TypedDict):
    """What :meth:`HttpCommunicator.get_response` returns (Django Channels' keys)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class HttpCommunicator(ApplicationCommunicator):
    """Plays the client side of one HTTP request to ``application``.

    ``HttpCommunicator(app, "GET", "/items?page=2")`` builds the scope the way a
    server would: the method upper-cased, the path unquoted, the query string in
    ``scope["query_string"]``. ``headers`` are pairs of str or bytes; ``body`` is
    sent in one piece, or in ``body_chunks`` pieces to test a streamed upload.

    Read a whole response with :meth:`get_response`. Read a stream piece by piece
    with :meth:`get_response_start`, then :meth:`receive_body` or, for Server-Sent
    Events, :meth:`receive_event`; :meth:`disconnect` plays a client that leaves.
    Pass ``path_params={...}`` to call a consumer app directly without a router.
    """

    def __init__(
        self,
        application: ASGIApp,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Iterable[tuple[str | bytes, str | bytes]] | None = None,
        *,
        body_chunks: int = 1,
        path_params: Mapping[str, Any] | None = None,
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> None:
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes, got {type(body).__name__}")
        parts = urlsplit(path)
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "http",
            "server": ("testserver", 80),
            "client": client,
            "root_path": "",
            "path": unquote(parts.path),
            "raw_path": parts.path.encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "headers": [(_bytes(k).lower(), _bytes(v)) for k, v in headers or ()],
            "extensions": {},
        }
        if path_params is not None:
            scope["path_params"] = dict(path_params)
        super().__init__(application, scope)
        self.body = body
        self.body_chunks = max(1, body_chunks)
        self._request_sent = False
        self._more_body = True
        self._parser = SseParser()
        self._events: list[ServerSentEvent] = []

    async def send_request(self) -> None:
        """Send the request body (once; the ``get_*``/``receive_*`` calls do it for you)."""
        if self._request_sent:
            return
        self._request_sent = True
        size = -(-len(self.body) // self.body_chunks) or 1
        pieces = [self.body[i : i + size] for i in range(0, len(self.body), size)] or [b""]
        for index, piece in enumerate(pieces):
            more = index < len(pieces) - 1
            await self.send_input({"type": "http.request", "body": piece, "more_body": more})

    async def get_response_start(self, timeout: float = 1) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Send the request; return the ``(status, headers)`` the app answered with."""
        await self.send_request()
        message = await self.receive_output(timeout)
        if message["type"] != "http.response.start":
            raise AssertionError(f"Expected http.response.start, got {message!r}")
        return message["status"], list(message.get("headers") or [])

    async def receive_body(self, timeout: float = 1) -> bytes:
        """The next part of the body; :attr:`response_complete` tells if it was the last."""
        if not self._more_body:
            raise AssertionError("The response is complete; there is no more body")
        message: Message = await self.receive_output(timeout)
        if message["type"] != "http.response.body":
            raise AssertionError(f"Expected http.response.body, got {message!r}")
        self._more_body = bool(message.get("more_body", False))
        body: bytes = message.get("body", b"")
        return body

    @property
    def response_complete(self) -> bool:
        """True once the app sent the last part of the body."""
        return not self._more_body

    async def get_response(self, timeout: float = 1) -> HttpResponse:
        """Send the request and return the whole response (status, headers, body)."""
        status, headers = await self.get_response_start(timeout)
        parts = []
        while not self.response_complete:
            parts.append(await self.receive_body(timeout))
        await self.wait(timeout)
        return {"status": status, "headers": headers, "body": b"".join(parts)}

    async def receive_event(self, timeout: float = 1, comments: bool = False) -> ServerSentEvent:
        """The next Server-Sent Event of a streamed response (after :meth:`get_response_start`).

        Like a browser's ``EventSource``, it skips blocks that fire no event
        (keep-alive comments, the opening ``retry:``); ``comments=True`` returns
        those too. Raises ``AssertionError`` if the response ends first.
        """
        while True:
            while self._events:
                event = self._events.pop(0)
                if comments or event.dispatched:
                    return event
            if self.response_complete:
                raise AssertionError("The event stream ended")
            self._events.extend(self._parser.feed(await self.receive_body(timeout)))

    async def disconnect(self, timeout: float = 1) -> None:
        """Tell the app the client went away, then wait for it to finish."""
        await self.send_input({"type": "http.disconnect"})
        await self.wait(timeout)


def _bytes(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value
