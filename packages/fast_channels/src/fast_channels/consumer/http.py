"""The HTTP consumer: one request, one response, channel-layer messages in between.

The shape is Django Channels' ``AsyncHttpConsumer``: :meth:`~AsyncHttpConsumer.handle`
gets the whole body, and replies with :meth:`~AsyncHttpConsumer.send_response` or with
:meth:`~AsyncHttpConsumer.send_headers` plus one or more
:meth:`~AsyncHttpConsumer.send_body` calls. The consumer ends when the response is
complete or the client goes away, whichever comes first. Until then it is a consumer
like the WebSocket ones: it has a channel, joins ``groups`` and dispatches layer
messages by type, which is how a long-poll or a stream gets its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ..exceptions import ChannelLayerConnectionError, StopConsumer
from ..metrics.consumers import counts_for
from ..types import Message, Receive, Scope, Send
from .base import AsyncConsumer

logger = logging.getLogger("fast_channels.consumer")

Headers = Mapping[str | bytes, str | bytes] | Iterable[tuple[str | bytes, str | bytes]]

#: The default :attr:`AsyncHttpConsumer.max_body_size`: 1 MiB.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024


def encode_headers(headers: Headers | None) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs (lower-case names, bytes) from a mapping or pairs of str/bytes."""
    if not headers:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(_to_bytes(name).lower(), _to_bytes(value)) for name, value in pairs]


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


class AsyncHttpConsumer(AsyncConsumer):
    """A consumer for one HTTP request.

    Override :meth:`handle`; it receives the whole request body as ``bytes``.
    Reply with :meth:`send_response`, or start with :meth:`send_headers` and send
    the body in parts with ``send_body(part, more_body=True)``. A handler may return
    with the response still open: the consumer keeps running, layer messages reach
    their handlers (``chat.message`` -> ``chat_message``), and the handler that calls
    ``send_body(..., more_body=False)`` ends it. If the client goes away first,
    :meth:`disconnect` runs and the consumer stops (leaving ``groups``).

    Bad input is answered without calling :meth:`handle`: a method not in
    :attr:`allowed_methods` gets ``405`` with an ``Allow`` header, ``OPTIONS`` gets
    ``204`` with ``Allow`` (unless you allow it and handle it), ``HEAD`` is served
    like ``GET`` with the body left out, and a body larger than :attr:`max_body_size`
    gets ``413`` as soon as the ``Content-Length`` header (or the bytes received so
    far) exceed it; the rest of the body is never read.

    An exception in any handler is logged on the ``fast_channels.consumer`` logger and
    answered with one ``500`` (if the response had not started; otherwise the response
    is ended where it is). The server keeps serving other requests.
    """

    #: Methods :meth:`handle` serves; ``HEAD`` is implied by ``GET``.
    allowed_methods: ClassVar[tuple[str, ...]] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    #: Largest request body accepted, in bytes (``None``: no limit). Larger gets 413.
    max_body_size: ClassVar[int | None] = DEFAULT_MAX_BODY_SIZE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._body: list[bytes] = []
        self._body_size = 0
        self._response_started = False
        self._response_complete = False
        self._disconnected = False
        self._ending = asyncio.Event()
        #: This class's counters (see :mod:`fast_channels.metrics`), None when off.
        #: For HTTP, "closes" are counted by response status (0: none was sent).
        self._count = counts_for(type(self))
        self._status = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            raise TypeError(
                f"{type(self).__name__} serves HTTP requests but got a {scope.get('type')!r} "
                "connection: mount it with Route, not WebSocketRoute."
            )
        self.scope, self.base_send = scope, send
        count = self._count
        if count:
            count.open += 1
        try:
            # Refused requests are answered from the headers alone: no body is read,
            # no channel is made and no group is joined for them.
            if await self._refused_before_body():
                return
            await super().__call__(scope, self._receive_until_ended(receive), send)
        finally:
            if count:
                count.open -= 1
                count.closed(self._status)

    def _receive_until_ended(self, receive: Receive) -> Receive:
        # end_consumer() may be called from a task of the consumer's own (the SSE
        # writer): turning it into a disconnect is how that task stops the consumer.
        async def _receive() -> Message:
            if self._ending.is_set():
                return {"type": "http.disconnect"}
            server = asyncio.ensure_future(receive())
            ended = asyncio.ensure_future(self._ending.wait())
            try:
                await asyncio.wait((server, ended), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in (server, ended):
                    if not waiter.done():
                        waiter.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await waiter
            if server.done() and not server.cancelled():
                return server.result()
            return {"type": "http.disconnect"}

        return _receive

    @property
    def method(self) -> str:
        """The request method, upper case (``"GET"``)."""
        return str(self.scope["method"]).upper()

    @property
    def response_started(self) -> bool:
        """True once the status and headers are sent."""
        return self._response_started

    @property
    def response_complete(self) -> bool:
        """True once the last part of the body is sent."""
        return self._response_complete

    # ASGI events ----------------------------------------------------------------------

    async def http_request(self, message: Message) -> None:
        """Collect the body (within :attr:`max_body_size`), then call :meth:`handle`."""
        chunk = message.get("body", b"")
        if count := self._count:
            count.frames_in += 1
        self._body_size += len(chunk)
        if self.max_body_size is not None and self._body_size > self.max_body_size:
            await self._send_too_large()
            raise StopConsumer
        self._body.append(chunk)
        if message.get("more_body", False):
            return
        body, self._body = b"".join(self._body), []
        await self.handle(body)
        if not self._response_started:
            raise RuntimeError(
                f"{type(self).__name__}.handle() returned without sending a response: "
                "call send_response(), or send_headers() then send_body()."
            )

    async def http_disconnect(self, message: Message) -> None:
        """The client went away (or the consumer ended itself): stop."""
        await self._disconnect_once()
        raise StopConsumer

    async def dispatch(self, message: Message) -> None:
        try:
            await super().dispatch(message)
        except StopConsumer:
            await self._disconnect_once()
            raise
        if self._response_complete:  # the handler that just ran finished the response
            await self._disconnect_once()
            raise StopConsumer

    # Overridable hooks ----------------------------------------------------------------

    async def handle(self, body: bytes) -> None:
        """Called with the whole request body; must start a response."""
        raise NotImplementedError(
            f"{type(self).__name__} must define 'async def handle(self, body)' "
            "that sends a response with send_response() or send_headers()/send_body()."
        )

    async def disconnect(self) -> None:
        """Called once when the request ends: response complete, client gone, or error."""

    # Actions --------------------------------------------------------------------------

    async def send_headers(self, *, status: int = 200, headers: Headers | None = None) -> None:
        """Start the response with ``status`` and ``headers``."""
        if self._response_started:
            raise RuntimeError(f"{type(self).__name__}: the response has already started.")
        self._response_started = True
        self._status = status
        if count := self._count:
            if status < 400:
                count.accepted += 1
            elif status in (401, 403):
                count.denied += 1
        await self.base_send(
            {"type": "http.response.start", "status": status, "headers": encode_headers(headers)}
        )

    async def send_body(self, body: bytes, *, more_body: bool = False) -> None:
        """Send a part of the body; ``more_body=False`` (the default) ends the response."""
        if not isinstance(body, bytes):
            raise TypeError(f"send_body() takes bytes, got {type(body).__name__}; encode it.")
        if not self._response_started:
            raise RuntimeError("send_body() before send_headers(): start the response first.")
        if self._response_complete:
            raise RuntimeError(f"{type(self).__name__}: the response is already complete.")
        if self.scope.get("method") == "HEAD":
            body = b""  # the headers describe the GET body; a HEAD response carries none
        self._response_complete = not more_body
        if count := self._count:
            count.frames_out += 1
        await self.base_send({"type": "http.response.body", "body": body, "more_body": more_body})

    async def send_response(
        self, status: int, body: bytes, *, headers: Headers | None = None
    ) -> None:
        """Send a whole response: ``status``, ``headers`` and ``body``."""
        await self.send_headers(status=status, headers=headers)
        await self.send_body(body)

    def end_consumer(self) -> None:
        """Stop this consumer from a task of its own (not from a handler).

        :meth:`disconnect` runs and the consumer stops, as if the client had gone. A
        handler can simply finish the response, or raise ``StopConsumer``.
        """
        self._ending.set()

    # Bad input and errors -------------------------------------------------------------

    async def _refused_before_body(self) -> bool:
        method = self.method
        allowed = self._allow_header()
        if method == "OPTIONS" and "OPTIONS" not in self.allowed_methods:
            await self.send_response(204, b"", headers=[("allow", allowed)])
            return True
        if method not in self.allowed_methods and not (
            method == "HEAD" and "GET" in self.allowed_methods
        ):
            await self._send_text(405, f"Method {method} not allowed.", [("allow", allowed)])
            return True
        declared = self._declared_length()
        if declared is None:
            await self._send_text(400, "Invalid Content-Length header.")
            return True
        if self.max_body_size is not None and declared > self.max_body_size:
            await self._send_too_large()
            return True
        return False

    def _allow_header(self) -> str:
        methods = list(self.allowed_methods)
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        if "OPTIONS" not in methods:
            methods.append("OPTIONS")
        return ", ".join(methods)

    def _declared_length(self) -> int | None:
        for name, value in self.scope.get("headers", ()):
            if name.lower() == b"content-length":
                return int(value) if value.isdigit() else None
        return 0

    async def _send_too_large(self) -> None:
        await self._send_text(
            413,
            f"Request body is larger than {self.max_body_size} bytes.",
            [("connection", "close")],
        )

    async def _send_text(
        self, status: int, text: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        body = text.encode()
        await self.send_response(
            status,
            body,
            headers=[
                ("content-type", "text/plain; charset=utf-8"),
                ("content-length", str(len(body))),
                *(headers or []),
            ],
        )

    async def handle_exception(self, exc: Exception) -> None:
        """Log ``exc``; answer 500 if no response started, else end the response."""
        if isinstance(exc, ChannelLayerConnectionError):
            # An OSError too, but the layer's service is down: that is no client's doing.
            logger.error(
                "%s: channel layer %r failed (%s, caused by %r); answering 500",
                type(self).__name__,
                self.channel_layer_alias,
                exc,
                exc.__cause__,
                exc_info=exc,
            )
            if count := self._count:
                count.handler_errors += 1
        elif isinstance(exc, OSError) and self._response_started:
            logger.info("%s: client went away (%s)", type(self).__name__, exc)
        else:
            logger.error("Error in %s; answering 500", type(self).__name__, exc_info=exc)
            if count := self._count:
                count.handler_errors += 1
        try:
            if not self._response_started:
                await self._send_text(500, "Internal Server Error")
            elif not self._response_complete:
                await self.send_body(b"")
        except Exception:  # the connection may be gone already; nothing left to tell it
            logger.debug("Could not finish the response after an error", exc_info=True)
        await self._disconnect_once()

    async def _disconnect_once(self) -> None:
        if self._disconnected:
            return
        self._disconnected = True
        try:
            await self.disconnect()
        except Exception:
            logger.exception("Error in %s.disconnect()", type(self).__name__)
