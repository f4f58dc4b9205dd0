"""Read a ``text/event-stream`` the way a browser's ``EventSource`` does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(rb"\r\n|\r|\n")


@dataclass
class ServerSentEvent:
    """One event of a stream; a block of comments only (a keep-alive) has ``comments``."""

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def is_comment(self) -> bool:
        """True for a block with comments only, such as a keep-alive."""
        return bool(self.comments) and not self._has_fields

    @property
    def dispatched(self) -> bool:
        """True if a browser fires it: it has a ``data`` line (empty data counts).

        A block with no ``data`` line (comments, a lone ``retry:``, an ``id:`` or
        ``event:`` only) updates the stream's state but reaches no listener.
        """
        return self._has_data

    _has_fields: bool = field(default=False, repr=False, compare=False)
    _has_data: bool = field(default=False, repr=False, compare=False)


class SseParser:
    """Feed it the bytes of a stream as they arrive; it returns the finished events.

    Follows the HTML standard's parsing rules (``data`` lines joined with ``\\n``,
    ``id`` containing NUL ignored, ``retry`` only when all digits), except that a
    block of comments is returned too, as an event whose :attr:`is_comment` is True.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._pending = ServerSentEvent()
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse ``chunk``; return the events it completed (possibly none)."""
        self._buffer += chunk
        events: list[ServerSentEvent] = []
        while True:
            match = _LINE.search(self._buffer)
            # A lone "\r" at the end may be the first half of "\r\n": wait for more.
            if match is None or (match.group() == b"\r" and match.end() == len(self._buffer)):
                return events
            line = self._buffer[: match.start()].decode("utf-8", "replace")
            self._buffer = self._buffer[match.end() :]
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self._pending.comments.append(line[1:].lstrip(" "))
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        pending = self._pending
        pending._has_fields = True
        if name == "data":
            pending._has_data = True
            self._data.append(value)
        elif name == "event":
            pending.event = value
        elif name == "id" and "\0" not in value:
            pending.id = value
        elif name == "retry" and value.isdigit():
            pending.retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, self._pending = self._pending, ServerSentEvent()
        event.data = "\n".join(self._data)
        self._data = []
        if not event._has_fields and not event.comments:
            return None
        return event
