"""Per-connection protection shared by the sandbox consumers.

Every client frame passes :meth:`FrameGuard.check` before the consumer sees it:
a frame over ``SANDBOX_MAX_MESSAGE_BYTES`` or one past the rate limit is
dropped, and that client alone gets an error event such as::

    {"type": "error", "code": "rate_limited", "message": "..."}

The connection stays open, and other clients are not affected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .settings import Settings, get_settings


def require_text(text: str, what: str, max_chars: int) -> str:
    """``text`` stripped; ``ValueError`` naming ``what`` when it is empty or too long."""
    text = text.strip()
    if not text:
        raise ValueError(f"A {what} needs some text.")
    if len(text) > max_chars:
        raise ValueError(f"A {what} is at most {max_chars} characters, got {len(text)}.")
    return text


def error_event(code: str, message: str) -> dict[str, str]:
    """The one shape of error the sandbox sends to a browser."""
    return {"type": "error", "code": code, "message": message}


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
        """Take one token if there is one; False means "too fast, drop it"."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


def settings_from_scope(scope: Mapping[str, Any]) -> Settings:
    """The settings the app factory stored on the WebSocket app's state.

    Falls back to the environment when a consumer runs outside ``create_app``
    (for example mounted alone in a test).
    """
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


class FrameGuard:
    """Checks each client frame against the size limit and this connection's rate."""

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_message_bytes
        self.bucket = TokenBucket(settings.rate_limit, settings.rate_burst)

    def check(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, str] | None:
        """None when the frame may be handled, else the error event to send back."""
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > self.max_bytes:
            return error_event(
                "message_too_large",
                f"Message of {size} bytes is over the {self.max_bytes}-byte limit; "
                "send something shorter.",
            )
        if not self.bucket.allow():
            return error_event(
                "rate_limited",
                f"Too many messages: at most {self.bucket.rate:g} per second "
                f"(bursts of {self.bucket.burst}). This one was dropped; slow down.",
            )
        return None
