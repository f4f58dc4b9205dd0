"""Per-connection limits of a WebSocket consumer, and what happens past each.

Set them on the consumer class::

    from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer

    class ChatConsumer(AsyncJsonWebsocketConsumer):
        limits = ConnectionLimits(max_frame_bytes=4096, rate=5, burst=10)

=========================  ===========  ======================================================
Limit                      Default      Past it
=========================  ===========  ======================================================
``max_frame_bytes``        64 KiB       the frame is dropped; ``limit_exceeded()`` is called
                                        (plain consumer: close 1009; JSON consumer: an error
                                        event ``{"type": "error", "code": "frame_too_large"}``)
``rate`` / ``burst``       20/s, 40     the frame is dropped; ``limit_exceeded()`` is called
                                        (plain consumer: close 1008; JSON consumer: an error
                                        event with ``"code": "rate_limited"``)
``max_outbound_bytes``     10 MiB       the client is not reading: the connection is closed
                                        with 3008 and what was queued for it is dropped
=========================  ===========  ======================================================

``None`` turns a limit off. Frames are counted before any handler runs, so a
refused frame costs no handler work; refused frames do not use up rate tokens.
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

    def __post_init__(self) -> None:
        for name in ("max_frame_bytes", "rate", "max_outbound_bytes"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ValueError(f"ConnectionLimits.{name} must be > 0 or None, got {value!r}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"ConnectionLimits.burst must be an int >= 1, got {self.burst!r}")


@dataclass(frozen=True)
class LimitExceeded:
    """A client frame refused by a limit: ``code`` for programs, ``message`` for people."""

    code: str
    message: str
    close_code: int


class TokenBucket:
    """Allow ``rate`` events per second on average, with bursts up to ``burst``."""

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
