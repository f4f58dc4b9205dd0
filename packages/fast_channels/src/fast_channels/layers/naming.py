"""Validation of channel names, group names and messages.

Plain helpers shared by every layer so the rules (and the error messages) are
identical whichever backend a user picks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_NAME_LENGTH = 100
NAME_RULE = (
    "ASCII letters, digits, hyphens, underscores and periods only, "
    f"and shorter than {MAX_NAME_LENGTH} characters"
)
_NAME_RE = re.compile(r"^[a-zA-Z\d\-_.]+$")
# A process-local channel looks like "prefix!suffix"; both halves follow the name rule.
_CHANNEL_RE = re.compile(r"^[a-zA-Z\d\-_.]+(![a-zA-Z\d\-_.]*)?$")


def _check(kind: str, name: object, pattern: re.Pattern[str], extra: str = "") -> str:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a str, got {type(name).__name__}: {name!r}")
    # fullmatch: "$" alone would let a trailing newline through, and names end up
    # in Redis keys and in newline-separated member lists.
    if len(name) >= MAX_NAME_LENGTH or not pattern.fullmatch(name):
        raise TypeError(f"{kind} name {name!r} is invalid: use {NAME_RULE}{extra}.")
    return name


def require_valid_channel_name(name: object) -> str:
    """Return ``name`` if it is a valid channel name, else raise ``TypeError``."""
    return _check(
        "Channel", name, _CHANNEL_RE, " (process-local channels look like 'prefix!suffix')"
    )


def require_valid_group_name(name: object) -> str:
    """Return ``name`` if it is a valid group name, else raise ``TypeError``."""
    return _check("Group", name, _NAME_RE)


def is_process_local(channel: str) -> bool:
    """True for names made by ``new_channel()`` (``prefix!suffix``)."""
    return "!" in channel


def non_local_name(channel: str) -> str:
    """The part of a process-local name shared by every channel of one process."""
    return channel[: channel.index("!") + 1] if "!" in channel else channel


def require_valid_message(message: object) -> Mapping[str, Any]:
    """Return ``message`` if it is a dict with a str ``type``, else raise ``TypeError``."""
    if not isinstance(message, dict):
        raise TypeError(
            f"A channel layer message must be a dict, got {type(message).__name__}. "
            'Send something like {"type": "chat.message", "text": "hi"}.'
        )
    msg_type = message.get("type")
    if not isinstance(msg_type, str) or not msg_type:
        raise TypeError(
            "A channel layer message needs a non-empty str 'type' key "
            f"(got keys {sorted(map(str, message))}); the type picks the consumer "
            "handler, e.g. 'chat.message' calls chat_message()."
        )
    return message
