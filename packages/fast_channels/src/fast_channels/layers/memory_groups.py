"""Presence and history of :class:`~.memory.InMemoryChannelLayer`, in its memory.

Kept apart from the layer's hot paths: the layer delegates ``presence_*`` and
``group_history`` here and calls :meth:`MemoryHistory.append` from
``group_send`` for groups that keep history. Everything lives in one process,
so presence never goes stale (a consumer always leaves in its ``finally``) and
the epoch changes only when ``flush()``/``close()`` drops the history.
"""

from __future__ import annotations

import pickle
import secrets
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from .group_state import StoredGroupState
from .history import (
    GroupHistory,
    HistoryLimits,
    HistoryPolicy,
    Position,
    check_recoverable,
    require_history,
    stamp,
)
from .naming import require_valid_message
from .presence import (
    PresenceInfo,
    decode_info,
    encode_info,
)


class MemoryPresence:
    """``{group: {channel: description as JSON}}``."""

    def __init__(self) -> None:
        self._present: dict[str, dict[str, str]] = {}

    async def add(self, group: str, channel: str, info: Mapping[str, Any] | None) -> str:
        """Record the presence; return the description as JSON (for the join event)."""
        text = encode_info(info)
        self._present.setdefault(group, {})[channel] = text
        return text

    async def discard(self, group: str, channel: str) -> str | None:
        """Forget the presence; return its description, or ``None`` if there was none."""
        members = self._present.get(group)
        if members is None:
            return None
        text = members.pop(channel, None)
        if not members:
            del self._present[group]
        return text

    async def list(self, group: str) -> dict[str, PresenceInfo]:
        return {ch: decode_info(text) for ch, text in self._present.get(group, {}).items()}

    def clear(self) -> None:
        self._present.clear()


class _Kept:
    """One group's history: the last offset and ``(offset, sent_at, pickled message)``."""

    __slots__ = ("entries", "offset")

    def __init__(self, size: int) -> None:
        self.offset = 0
        self.entries: deque[tuple[int, float, bytes]] = deque(maxlen=size)

    def trim(self, limits: HistoryLimits, now: float) -> None:
        entries = self.entries
        while entries and entries[0][1] <= now - limits.seconds:
            entries.popleft()


class MemoryHistory:
    """The history of every resumable group of one in-memory layer."""

    def __init__(self, policy: HistoryPolicy) -> None:
        self.policy = policy
        self.epoch = secrets.token_hex(4)
        self._groups: dict[str, _Kept] = {}

    def append(self, group: str, message: dict[str, Any], limits: HistoryLimits) -> dict[str, Any]:
        """Store ``message``; return it with its position stamped in (what members get)."""
        require_valid_message(message)
        now = time.monotonic()
        kept = self._groups.get(group)
        if kept is None or kept.entries.maxlen != limits.size:
            kept = self._groups[group] = _Kept(limits.size)
        kept.offset += 1
        stamped = {**message, "__position__": stamp(group, self.epoch, kept.offset)}
        try:
            frozen = pickle.dumps(stamped, pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(
                f"The message could not be copied for delivery: {exc}. Send plain data "
                "(dicts, lists, str, numbers, bool, None)."
            ) from exc
        kept.trim(limits, now)
        kept.entries.append((kept.offset, now, frozen))
        return stamped

    async def read(self, group: str, since: Position | str | None) -> GroupHistory:
        limits = require_history(self.policy, group)
        start = Position.parse(since) if since is not None else None
        kept = self._groups.get(group)
        if kept is None:
            if start is not None:
                check_recoverable(group, start, None, 0, None)
            return GroupHistory()
        kept.trim(limits, time.monotonic())
        after = start.offset if start is not None else 0
        rows = [(off, frozen) for off, _, frozen in kept.entries if off > after]
        if start is not None:
            first = rows[0][0] if rows else None
            check_recoverable(group, start, self.epoch, kept.offset, first)
        messages: list[dict[str, Any]] = [pickle.loads(frozen) for _, frozen in rows]
        return GroupHistory(messages, Position(self.epoch, kept.offset))

    def clear(self) -> None:
        """Drop every history: what was kept is lost, so the epoch changes."""
        self._groups.clear()
        self.epoch = secrets.token_hex(4)


class MemoryGroupState(StoredGroupState):
    """The presence and history methods of the in-memory layer, over its stores.

    The layer sets ``_presence``, ``_history`` and ``history_policy`` in its constructor.
    """

    _presence: MemoryPresence
    _history: MemoryHistory
