"""WebSocket consumers: plain text/bytes frames, and JSON frames.

An exception raised by any handler is logged on the ``fast_channels.consumer``
logger and closes that socket with code 1011 (or rejects the handshake when the
socket was not accepted yet); other connections are not affected.

Close codes the library uses: 1008 (handshake refused: origin or authentication;
or rate limit exceeded), 1009 (frame too large), 1011 (a handler raised), 3008
(the client stopped reading; see :mod:`fast_channels.consumer.limits`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, ClassVar

from ..exceptions import (
    AcceptConnection,
    ChannelLayerConnectionError,
    DenyConnection,
    StopConsumer,
)
from ..metrics.consumers import counts_for
from ..middleware.origin import POLICY_VIOLATION
from ..types import Message, Receive, Scope, Send
from .auth import is_authenticated
from .base import AsyncConsumer
from .concurrency import FrameHandlers
from .limits import SLOW_CLIENT, ConnectionLimits, FrameLimiter, LimitExceeded
from .outbox import Outbox

logger = logging.getLogger("fast_channels.consumer")

#: Close code used when a handler raised: "internal error" (RFC 6455).
INTERNAL_ERROR = 1011
#: Counted for a connection that ended without a close frame either way.
ABNORMAL = 1006

Headers = Mapping[str | bytes, str | bytes] | Iterable[tuple[str | bytes, str | bytes]]


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


class AsyncWebsocketConsumer(AsyncConsumer):
    """A consumer for one WebSocket connection.

    Override :meth:`connect`, :meth:`receive` and :meth:`disconnect`, and add
    handlers for the channel layer messages you expect (``chat.message`` ->
    ``chat_message``). ``self.scope`` is the ASGI scope, so route path
    parameters are in ``self.scope["path_params"]``.

    In :meth:`connect`, call :meth:`accept` (or raise ``AcceptConnection``) to
    accept, :meth:`close` (or raise ``DenyConnection``) to reject. Raise
    ``StopConsumer`` from any handler to stop this consumer.

    ``send()`` never waits for a slow client: frames queue in a bounded outbox
    (``limits.max_outbound_bytes``) that is written to the server in order, so a
    broadcast is not held up by one socket. Client frames pass the ``limits``
    (size, rate) before :meth:`receive` sees them, and by default are handled one at
    a time (``limits.max_concurrent_handlers``); see
    :mod:`fast_channels.consumer.limits` for the defaults and what happens past each.
    """

    #: Limits for each connection; override with your own ``ConnectionLimits(...)``.
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    #: Refuse handshakes whose ``scope["user"]`` is not authenticated (HTTP 403,
    #: close code 1008), before :meth:`connect` runs. The user is put there by
    #: :class:`~fast_channels.middleware.auth.AuthMiddleware`.
    authentication_required: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._accepted = False
        self._closed = False
        self._disconnected = False
        self._limiter = FrameLimiter(self.limits)
        #: This class's counters (see :mod:`fast_channels.metrics`), None when off.
        self._count = counts_for(type(self))
        self._close_code: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.outbox = Outbox(send, self.limits.max_outbound_bytes, self._too_slow)
        try:
            await super().__call__(scope, receive, self.outbox.send)
        finally:
            await self.outbox.aclose()
            if (count := self._count) and self._accepted:
                count.open -= 1
                count.closed(ABNORMAL if self._close_code is None else self._close_code)

    def _asgi_loop(self, receive: Receive) -> Coroutine[Any, Any, None]:
        # Returns the loop rather than awaiting it: one coroutine frame less per socket.
        limit = self.limits.max_concurrent_handlers
        if limit == 1:
            return super()._asgi_loop(receive)
        return FrameHandlers(limit, self.dispatch).run(receive, self._lock)  # see .concurrency

    # ASGI events ----------------------------------------------------------------------

    async def websocket_connect(self, message: Message) -> None:
        """Handle the handshake: check ``authentication_required``, then call :meth:`connect`."""
        if self.authentication_required and not is_authenticated(self.scope, type(self).__name__):
            logger.info("%s: refused an unauthenticated handshake", type(self).__name__)
            await self.close(POLICY_VIOLATION)  # before accept the server answers HTTP 403
            return
        try:
            await self.connect()
        except AcceptConnection:
            await self.accept()
        except DenyConnection:
            await self.close()

    async def websocket_receive(self, message: Message) -> None:
        """Handle a frame: check it against ``limits``, then call :meth:`receive`."""
        if count := self._count:
            count.frames_in += 1
        text = message.get("text")
        exceeded = self._limiter.check(text, message.get("bytes"))
        if exceeded is not None:
            await self.limit_exceeded(exceeded)
            return
        if text is not None:
            await self.receive(text_data=text)
        else:
            await self.receive(bytes_data=message.get("bytes"))

    async def websocket_disconnect(self, message: Message) -> None:
        """Handle the client going away: call :meth:`disconnect`, then stop."""
        self._closed = True
        code = message.get("code", 1005)
        if self._close_code is None:
            self._close_code = code
        await self._disconnect_once(code)
        raise StopConsumer

    # Overridable hooks ----------------------------------------------------------------

    async def connect(self) -> None:
        """Called on the handshake; accepts by default."""
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client; ignores it by default."""

    async def disconnect(self, code: int) -> None:
        """Called once when the connection ends (also after a handler error)."""

    async def limit_exceeded(self, exceeded: LimitExceeded) -> None:
        """Called instead of :meth:`receive` for a frame a limit refused.

        The plain consumer closes with ``exceeded.close_code`` (1009 for size,
        1008 for rate); override to reply instead.
        """
        logger.info("%s: %s; closing", type(self).__name__, exceeded.message)
        await self.close(exceeded.close_code)

    # Actions --------------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the connection, optionally choosing a subprotocol and adding headers."""
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            message["headers"] = [(_to_bytes(k), _to_bytes(v)) for k, v in pairs]
        await self.base_send(message)
        self._accepted = True
        if count := self._count:
            count.accepted += 1
            count.open += 1

    async def send(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close=True`` (or a close code) closes after it."""
        if text_data is not None:
            await self.base_send({"type": "websocket.send", "text": text_data})
        elif bytes_data is not None:
            await self.base_send({"type": "websocket.send", "bytes": bytes_data})
        else:
            raise ValueError("send() needs text_data or bytes_data")
        if count := self._count:
            count.frames_out += 1
        if close is not False:
            await self.close(None if close is True else close)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the connection (before accept: reject the handshake with HTTP 403)."""
        message: Message = {"type": "websocket.close"}
        if code is not None:
            message["code"] = code
        if reason:
            message["reason"] = reason
        if not self._closed and (count := self._count):
            if not self._accepted:
                count.denied += 1
            elif self._close_code is None:
                self._close_code = 1000 if code is None else code
        self._closed = True
        await self.base_send(message)

    # Errors ---------------------------------------------------------------------------

    async def handle_exception(self, exc: Exception) -> None:
        """Log ``exc``, close this socket with 1011 and call :meth:`disconnect`."""
        if count := self._count:
            count.handler_errors += 1
        if isinstance(exc, ChannelLayerConnectionError):
            # An OSError too, but the layer's service is down: that is no client's doing.
            logger.error(
                "%s: channel layer %r failed (%s, caused by %r); closing with 1011",
                type(self).__name__,
                self.channel_layer_alias,
                exc,
                exc.__cause__,
                exc_info=exc,
            )
        elif isinstance(exc, OSError) and self._accepted:
            # The server refused a send because the client is already gone.
            logger.info("%s: client went away (%s)", type(self).__name__, exc)
        else:
            logger.error("Error in %s; closing with 1011", type(self).__name__, exc_info=exc)
        if not self._closed:
            try:
                await self.close(INTERNAL_ERROR)
            except Exception:  # the socket may be gone already; nothing left to tell it
                logger.debug("Could not send close 1011", exc_info=True)
        if self._accepted:
            await self._disconnect_once(INTERNAL_ERROR)

    def _too_slow(self, size: int) -> None:
        if self._close_code is None:
            self._close_code = SLOW_CLIENT
        logger.warning(
            "%s: the client is not reading (%d bytes waiting, limit %s); closing with %d",
            type(self).__name__,
            size,
            self.limits.max_outbound_bytes,
            SLOW_CLIENT,
        )
        self._closed = True

    async def _disconnect_once(self, code: int) -> None:
        if self._disconnected:
            return
        self._disconnected = True
        try:
            await self.disconnect(code)
        except Exception:
            logger.exception("Error in %s.disconnect()", type(self).__name__)


class AsyncJsonWebsocketConsumer(AsyncWebsocketConsumer):
    """A WebSocket consumer that exchanges JSON documents.

    Override :meth:`receive_json` and use :meth:`send_json`. Text frames (and
    binary frames holding UTF-8 JSON) are decoded with :meth:`decode_json`.

    A frame that is not valid JSON does not close the connection: it calls
    :meth:`invalid_json`, which by default sends the client
    ``{"type": "error", "code": "invalid_json", "message": "..."}``.
    """

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        data: str | bytes = text_data if text_data is not None else (bytes_data or b"")
        try:
            content = self.decode_json(data)
        except ValueError as exc:
            await self.invalid_json(data, exc)
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any) -> None:
        """Called with each decoded JSON document; ignores it by default."""

    async def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` with :meth:`encode_json` and send it as a text frame."""
        await self.send(text_data=self.encode_json(content), close=close)

    async def limit_exceeded(self, exceeded: LimitExceeded) -> None:
        """Reply ``{"type": "error", "code": "frame_too_large" | "rate_limited", ...}``.

        The frame is dropped and the connection stays open.
        """
        logger.info("%s: %s", type(self).__name__, exceeded.message)
        await self.send_json({"type": "error", "code": exceeded.code, "message": exceeded.message})

    async def invalid_json(self, data: str | bytes, exc: ValueError) -> None:
        """Called for a frame that is not valid JSON; replies with an error event.

        Override to log differently, reply differently or close the socket.
        """
        logger.info("%s: ignored a frame that is not JSON: %s", type(self).__name__, exc)
        await self.send_json(
            {"type": "error", "code": "invalid_json", "message": f"Frame is not valid JSON: {exc}"}
        )

    @classmethod
    def decode_json(cls, data: str | bytes) -> Any:
        """Decode one frame; raise ``ValueError`` when it is not valid."""
        return json.loads(data)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """Encode one document for sending."""
        return json.dumps(content)
