"""Input checks and the error event shape shared by the sandbox consumers.

Frame size and rate limits are the library's (``ConnectionLimits``, set from
``SANDBOX_MAX_MESSAGE_BYTES``, ``SANDBOX_RATE_LIMIT`` and ``SANDBOX_RATE_BURST``
by the app factory): a refused frame gets that client alone an error event such
as ``{"type": "error", "code": "rate_limited", "message": "..."}``, and the
connection stays open.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def settings_from_scope(scope: Mapping[str, Any]) -> Settings:
    """The settings the app factory stored on the WebSocket app's state.

    Falls back to the environment when a consumer runs outside ``create_app``
    (for example mounted alone in a test).
    """
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()
