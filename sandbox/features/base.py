"""The JSON consumer every sandbox feature builds on.

It adds three things to :class:`AsyncJsonWebsocketConsumer`:

- the library checks each client frame against the connection's ``limits`` (size,
  rate: set from the settings by the app factory) and answers a refused one with an
  ``{"type": "error", "code": "frame_too_large" | "rate_limited"}`` event;
- client messages are JSON objects with a ``"type"``, dispatched to
  ``action_<type>()`` methods (``{"type": "message"}`` -> ``action_message``);
- anything else gets an ``{"type": "error", ...}`` event for this client only.
"""

from __future__ import annotations

import re
from typing import Any

from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer

from ..guards import error_event, settings_from_scope
from ..settings import Settings

_ACTION_RE = re.compile(r"^[a-z][a-z_]{0,30}$")


class BadAction(ValueError):
    """A client message is well-formed JSON but not something this consumer accepts."""


def required_text(content: dict[str, Any], max_chars: int = 2000) -> str:
    """The non-empty ``text`` field of a client message, or ``BadAction``."""
    text = content.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadAction('This message needs a non-empty "text" string.')
    if len(text) > max_chars:
        raise BadAction(f'"text" is {len(text)} characters; the limit is {max_chars}.')
    return text.strip()


class SandboxJsonConsumer(AsyncJsonWebsocketConsumer):
    """JSON consumer with the sandbox's limits and ``action_<type>`` dispatch."""

    @property
    def settings(self) -> Settings:
        return settings_from_scope(self.scope)

    async def send_error(self, code: str, message: str) -> None:
        """Send an error event to this client only; the connection stays open."""
        await self.send_json(error_event(code, message))

    async def receive_json(self, content: Any) -> None:
        action = content.get("type") if isinstance(content, dict) else None
        if not isinstance(action, str) or not _ACTION_RE.match(action):
            await self.send_error(
                "invalid_message",
                'Send a JSON object with a "type", e.g. {"type": "message", "text": "hi"}.',
            )
            return
        handler = getattr(self, f"action_{action}", None)
        if handler is None:
            await self.send_error("unknown_action", f"Unknown message type {action!r}.")
            return
        try:
            await handler(content)
        except BadAction as exc:
            await self.send_error("invalid_message", str(exc))
