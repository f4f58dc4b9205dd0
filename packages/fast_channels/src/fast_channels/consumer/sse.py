"""Server-Sent Events: stream channel-layer messages to a browser's ``EventSource``.

A page that cannot use a WebSocket (a proxy that drops upgrades, a front end without
WebSocket support) can still get live updates over plain HTTP::

    from fast_channels.consumer.sse import AsyncSseConsumer

    class PricesStream(AsyncSseConsumer):
        groups = ["prices"]

        async def price_update(self, event):
            await self.send_event(event["price"], event="price", id=event["id"])

Mount it like the WebSocket consumers, with a ``Route`` in a Starlette sub-app::

    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.routing import Route

    app = FastAPI()
    app.mount("/sse", Starlette(routes=[Route("/prices", PricesStream.as_asgi())]))

and read it with ``new EventSource("/sse/prices")`` in the page, or with
``curl -N http://host/sse/prices``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import deque
from typing import Any, ClassVar

from ..exceptions import HistoryUnrecoverable, InvalidPosition
from ..types import Message, Receive, Scope, Send
from .http import AsyncHttpConsumer, Headers, encode_headers

logger = logging.getLogger("fast_channels.consumer")

#: Sent every :attr:`AsyncSseConsumer.keepalive_interval` seconds of silence.
KEEPALIVE = b": keep-alive\n\n"
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx would otherwise buffer the whole stream
]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Waiting this long for the writer to flush after close(); a reader that takes
# longer is cut off.
_FLUSH_TIMEOUT = 5.0


def format_event(
    data: str, *, event: str | None = None, id: str | None = None, retry: int | None = None
) -> bytes:
    """One SSE frame: ``event:``, ``id:``, ``retry:`` and one ``data:`` line per line."""
    lines = []
    if event is not None:
        lines.append(f"event: {_field('event', event)}")
    if id is not None:
        lines.append(f"id: {_field('id', id)}")
    if retry is not None:
        if not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be a non-negative int (milliseconds), got {retry!r}")
        lines.append(f"retry: {retry}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


def _field(name: str, value: str) -> str:
    if not isinstance(value, str) or _LINE_BREAK.search(value) or "\0" in value:
        raise ValueError(f"SSE {name} must be a str without line breaks or NUL, got {value!r}")
    return value


class AsyncSseConsumer(AsyncHttpConsumer):
    """An HTTP consumer that answers ``GET`` with a ``text/event-stream``.

    It joins ``groups`` (or the groups you add in :meth:`connect`) and dispatches layer
    messages by type, as the WebSocket consumers do; handlers call :meth:`send_event`.
    A message of type ``sse.event`` needs no handler: its ``data``, ``event`` and
    ``id`` keys become a frame as they are.

    Every :attr:`keepalive_interval` seconds without an event it sends a comment, so
    proxies don't cut an idle stream. :meth:`close` ends the stream after the pending
    events; a client that goes away ends it too, and :meth:`disconnect` runs.

    Events are written by a task of their own, so a slow client never holds up the
    layer. What that client has not read yet waits in a per-connection buffer of at
    most :attr:`max_buffer_bytes`; an event that would overflow it closes the stream
    (the client reconnects, and should resume from ``Last-Event-ID``).

    ``Last-Event-ID``: on reconnect, a browser sends the ``id`` of the last event it
    got. :attr:`last_event_id` holds it and :meth:`replay` is called with it once the
    stream is open. Set :attr:`history_group` to a resumable group (one matching the
    layer's ``group_history``): the stream joins it when it opens, events get the
    message's position as ``id``, and :meth:`replay` re-sends what the client missed
    through the normal handlers (see :meth:`group_resume`). Without it, the default
    :meth:`replay` sends nothing; override it to replay from a store of your own.
    """

    allowed_methods: ClassVar[tuple[str, ...]] = ("GET",)
    #: A ``GET`` has no body; any body gets 413.
    max_body_size: ClassVar[int | None] = 0
    #: Seconds of silence before a keep-alive comment; ``None`` sends none.
    keepalive_interval: ClassVar[float | None] = 15.0
    #: Reconnection delay suggested to the browser (``retry:``), in ms; ``None``: its own.
    retry_ms: ClassVar[int | None] = None
    #: Unsent bytes allowed per connection before the stream is closed.
    max_buffer_bytes: ClassVar[int] = 256 * 1024
    #: A resumable group streamed with positions as event ids, replayed on reconnect.
    history_group: ClassVar[str | None] = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Encoded frames not written yet; ``None`` marks the end of the stream.
        self._frames: deque[bytes | None] = deque()
        self._buffered = 0
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False  # close() was called, or the buffer overflowed
        self._overflowed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._stop_writer()

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` request header, when the client sent one."""
        for name, value in self.scope.get("headers", ()):
            if name.lower() == b"last-event-id":
                return bytes(value).decode("latin-1")
        return None

    # The request ----------------------------------------------------------------------

    async def handle(self, body: bytes) -> None:
        """Answer ``HEAD`` with the stream's headers; call :meth:`connect` for ``GET``."""
        if self.method == "HEAD":
            await self.send_response(200, b"", headers=STREAM_HEADERS)
            return
        await self.connect()

    async def connect(self) -> None:
        """Called for each new stream; accepts by default.

        Override to check the request or join groups from ``self.scope["path_params"]``,
        then call :meth:`accept`; refuse with ``send_response(403, b"...")``.
        """
        await self.accept()

    async def accept(self, headers: Headers | None = None) -> None:
        """Send the stream's headers (plus ``headers``), then :meth:`replay` if resuming."""
        await self.send_headers(status=200, headers=[*STREAM_HEADERS, *encode_headers(headers)])
        opening = b": stream open\n"
        if self.retry_ms is not None:
            opening += f"retry: {self.retry_ms}\n".encode()
        await self.send_body(opening + b"\n", more_body=True)
        self._writer = asyncio.create_task(self._write_loop())
        last_id = self.last_event_id
        if last_id is not None:
            await self.replay(last_id)
        elif self.history_group is not None:
            await self.group_resume(self.history_group, None)

    async def replay(self, last_event_id: str) -> None:
        """Re-send what the client missed after ``last_event_id``; nothing by default.

        Called once, right after the stream opens, when the request carried a
        ``Last-Event-ID`` header. With :attr:`history_group` set, it joins that
        group and dispatches the messages after that position; if they are gone
        (or the id is not a position) it calls :meth:`recovery_failed` and goes on
        live. Without it, nothing is replayed.
        """
        group = self.history_group
        if group is None:
            logger.debug("%s: nothing to replay after %r", type(self).__name__, last_event_id)
            return
        try:
            await self.group_resume(group, last_event_id)
        except InvalidPosition as exc:
            await self.group_resume(group, None)
            await self.recovery_failed(exc)
        except HistoryUnrecoverable as exc:
            await self.recovery_failed(exc)

    async def recovery_failed(self, exc: InvalidPosition | HistoryUnrecoverable) -> None:
        """Tell the client its missed events are gone: a ``recovery.failed`` event.

        Its data is ``{"reason": ...}``; a page reloads its state when it sees it.
        Override to answer differently.
        """
        reason = exc.reason if isinstance(exc, HistoryUnrecoverable) else "invalid"
        await self.send_event({"reason": reason}, event="recovery.failed")

    # Sending --------------------------------------------------------------------------

    async def send_event(
        self, data: Any, *, event: str | None = None, id: str | None = None
    ) -> None:
        """Queue one event for the client: ``data`` (a str, or encoded as JSON).

        Returns at once; the writer task sends it. If the client is so far behind that
        this event would not fit in :attr:`max_buffer_bytes`, the stream is closed.
        """
        text = data if isinstance(data, str) else self.encode_json(data)
        self._push(format_event(text, event=event, id=id))

    # Reachable through the layer although the library defines it (see _api_names).
    _library_handlers: ClassVar[frozenset[str]] = frozenset({"sse_event"})

    async def sse_event(self, message: Message) -> None:
        """Handler for ``{"type": "sse.event", "data": ..., "event": ..., "id": ...}``."""
        event_id = message.get("id") or self.position_id(message)  # a resumable group's
        await self.send_event(message.get("data", ""), event=message.get("event"), id=event_id)

    async def close(self) -> None:
        """End the stream once the events already queued are written."""
        if not self._closing:
            self._closing = True
            self._frames.append(None)
            self._wakeup.set()

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """Encode non-str event data; override for another encoder."""
        return json.dumps(content)

    def _push(self, frame: bytes) -> None:
        if self._closing:
            return  # the stream is ending; nothing more goes out
        if self._buffered + len(frame) > self.max_buffer_bytes:
            logger.warning(
                "%s: the client has %d bytes unread (max_buffer_bytes=%d); closing its stream",
                type(self).__name__,
                self._buffered,
                self.max_buffer_bytes,
            )
            self._closing = self._overflowed = True
            self.end_consumer()
            return
        self._buffered += len(frame)
        self._frames.append(frame)
        self._wakeup.set()

    # The writer task ------------------------------------------------------------------

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wait_for_frames()
                chunk, end = self._take_frames()
                if chunk:
                    await self.send_body(chunk, more_body=True)
                if end:
                    await self.send_body(b"")
                    return
        except OSError as exc:
            logger.info("%s: client went away (%s)", type(self).__name__, exc)
        except Exception:
            logger.exception("Error while writing the event stream of %s", type(self).__name__)
        finally:
            self.end_consumer()

    async def _wait_for_frames(self) -> None:
        while not self._frames:
            self._wakeup.clear()
            try:
                async with asyncio.timeout(self.keepalive_interval):
                    await self._wakeup.wait()
            except TimeoutError:
                await self.send_body(KEEPALIVE, more_body=True)

    def _take_frames(self) -> tuple[bytes, bool]:
        # Everything pending goes out in one write: a burst costs one send, not N.
        parts: list[bytes] = []
        end = False
        while self._frames:
            frame = self._frames.popleft()
            if frame is None:
                end = True
                break
            parts.append(frame)
        chunk = b"".join(parts)
        self._buffered -= len(chunk)
        return chunk, end

    async def _stop_writer(self) -> None:
        writer = self._writer
        if writer is None or writer.done():
            return
        if self._closing and not self._overflowed:
            # close() was called: let the pending events and the end of the body out.
            await asyncio.wait((writer,), timeout=_FLUSH_TIMEOUT)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer

    async def handle_exception(self, exc: Exception) -> None:
        """Log ``exc``; before the stream opened answer 500, after it end the stream."""
        if self._writer is None:
            await super().handle_exception(exc)
            return
        logger.error("Error in %s; closing its event stream", type(self).__name__, exc_info=exc)
        await self.close()
        await self._disconnect_once()
