"""Which method handles a message: ``"chat.message"`` -> ``chat_message``, and which never do."""

from __future__ import annotations

from ..exceptions import InvalidMessageType
from ..types import Message

__all__ = ["get_handler_name"]


def get_handler_name(message: Message) -> str:
    """The method name for a message's ``type``: ``"chat.message"`` -> ``"chat_message"``."""
    msg_type = message.get("type")
    if not isinstance(msg_type, str) or not msg_type:
        raise InvalidMessageType(f"Message type must be a non-empty str, got {msg_type!r}")
    if msg_type.startswith("_"):
        raise InvalidMessageType(
            f"Message type {msg_type!r} starts with '_': handlers for private "
            "methods cannot be called through messages."
        )
    return msg_type.replace(".", "_")


def _api_names(cls: type) -> frozenset[str]:
    """Public names a library class defines, except its handlers.

    Handlers are the ``websocket_*``/``http_*`` methods and whatever the class
    lists in ``_library_handlers`` (e.g. the SSE consumer's ``sse_event``).
    """
    handlers: frozenset[str] = vars(cls).get("_library_handlers", frozenset())
    return frozenset(
        name
        for name in vars(cls)
        if not name.startswith(("_", "websocket_", "http_")) and name not in handlers
    )
