"""Per-connection limits of a WebSocket consumer, and what happens past each.

Set them on the consumer class::

    from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer

    class ChatConsumer(AsyncJsonWebsocketConsumer):
        limits = ConnectionLimits(max_frame_bytes=4096, rate=5, burst=10)

=============================  ========  ===================================================
Limit                          Default   Past it
=============================  ========  ===================================================
``max_frame_bytes``            64 KiB    the frame is dropped; ``limit_exceeded()`` is called
                                         (plain consumer: close 1009; JSON consumer: an
                                         error event ``{"type": "error", "code":
                                         "frame_too_large"}``)
``rate`` / ``burst``           20/s, 40  the frame is dropped; ``limit_exceeded()`` is called
                                         (plain consumer: close 1008; JSON consumer: an
                                         error event with ``"code": "rate_limited"``)
``max_outbound_bytes``         10 MiB    the client is not reading: the connection is
                                         closed with 3008 and what was queued is dropped
``max_concurrent_handlers``    1         frame handlers running at once; past it the next
                                         frame is not read from the server until one ends
                                         (back-pressure: the client's sends wait; nothing
                                         is dropped, no error frame, no close)
=============================  ========  ===================================================

``None`` turns a limit off (except ``max_concurrent_handlers``, always a number).
Frames are counted before any handler runs, so a refused frame costs no handler
work; refused frames do not use up rate tokens.

Why back-pressure past ``max_concurrent_handlers``: every frame in flight is work
the client asked for and is owed an answer, in order for its own requests. An
error frame would make clients retry what the server is already too busy for,
and a close would cut off a client that is only asking faster than a handler
finishes. Waiting costs the server nothing: the frame stays in the client's
socket, and TCP slows the client down. Floods are the rate limit's job. With 1
(the default) handlers never interleave, as in Django Channels; with N > 1 up to
N client frames are handled at once, each in its own task, while channel layer
messages are still handled one at a time, in order (see :mod:`.concurrency`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

#: Close code past ``max_frame_bytes``: "message too big" (RFC 6455).
FRAME_TOO_LARGE = 1009
#: Close code past the rate limit: "policy violation" (RFC 6455).
RATE_LIMITED = 1008
#: Close code for a client that stopped reading (Centrifugo uses the same number).
SLOW_CLIENT = 3008


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may do; see the module docstring for the behaviour past each."""

    #: Largest client frame, in bytes (UTF-8 for text frames).
    max_frame_bytes: int | None = 64 * 1024
    #: Client frames per second, on average (a token bucket refilled at this rate)...
    rate: float | None = 20.0
    #: ...and how many may arrive at once after a quiet spell.
    burst: int = 40
    #: Bytes queued for the client but not yet taken by the server; past it, close 3008.
    max_outbound_bytes: int | None = 10 * 1024 * 1024
    #: Handlers of client frames that may run at once; 1 handles one message at a time.
    max_concurrent_handlers: int = 1

    def __post_init__(self) -> None:
        for name in ("max_frame_bytes", "rate", "max_outbound_bytes"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ValueError(f"ConnectionLimits.{name} must be > 0 or None, got {value!r}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"ConnectionLimits.burst must be an int >= 1, got {self.burst!r}")
        handlers = self.max_concurrent_handlers
        if isinstance(handlers, bool) or not isinstance(handlers, int) or handlers < 1:
            raise ValueError(
                "ConnectionLimits.max_concurrent_handlers must be an int >= 1 (1 handles one "
                f"message at a time), got {handlers!r}"
            )


@dataclass(frozen=True)
class LimitExceeded:
    """A client frame refused by a limit: ``code`` for programs, ``message`` for people."""

    code: str
    message: str
    close_code: int


class TokenBucket:
    """Allow ``rate`` events per second on average, with bursts up to ``burst``."""

    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate")

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def allow(self) -> bool:
        """Take one token if there is one; ``False`` means "too fast"."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class FrameLimiter:
    """Checks each client frame of one connection against its size and rate limits."""

    __slots__ = ("bucket", "max_bytes")

    def __init__(self, limits: ConnectionLimits, clock: Callable[[], float] = time.monotonic):
        self.max_bytes = limits.max_frame_bytes
        self.bucket = None if limits.rate is None else TokenBucket(limits.rate, limits.burst, clock)

    def check(self, text: str | None, data: bytes | None) -> LimitExceeded | None:
        """``None`` when the frame may be handled, else why it may not."""
        limit = self.max_bytes
        if limit is not None:
            size = _oversize(text, data, limit)
            if size is not None:
                return LimitExceeded(
                    "frame_too_large",
                    f"Frame of {size} bytes is over the {limit}-byte limit; send less at once.",
                    FRAME_TOO_LARGE,
                )
        if self.bucket is not None and not self.bucket.allow():
            return LimitExceeded(
                "rate_limited",
                f"Too many frames: at most {self.bucket.rate:g} per second (bursts of "
                f"{self.bucket.burst}). This one was dropped; slow down.",
                RATE_LIMITED,
            )
        return None


def _oversize(text: str | None, data: bytes | None, limit: int) -> int | None:
    """The frame's size in bytes when it is over ``limit``, else ``None``."""
    if text is None:
        size = len(data or b"")
    elif len(text) * 4 <= limit:  # UTF-8 is at most 4 bytes a character: no need to encode
        return None
    else:
        size = len(text.encode())
    return size if size > limit else None
