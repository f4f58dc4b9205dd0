"""The ``presence_*`` and ``group_history`` methods every built-in layer shares.

Each layer keeps presence and history in its own store (a dict in memory, a
hash and a stream in Redis); what the methods around those stores do is the
same everywhere: validate the names, call the store, and send the join/leave
announcement through the layer's own ``group_send``. That part lives here once.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, Protocol

from .history import GroupHistory, HistoryLayer, Position
from .naming import require_valid_channel_name, require_valid_group_name
from .presence import JOIN_TYPE, LEAVE_TYPE, PresenceInfo, PresenceLayer, presence_event


class PresenceStore(Protocol):
    """Where a layer keeps presence: descriptions are stored as JSON text."""

    async def add(self, group: str, channel: str, info: Mapping[str, Any] | None) -> str:
        """Record the presence; return the description as JSON (for the join event)."""
        ...

    async def discard(self, group: str, channel: str) -> str | None:
        """Forget the presence; return its description, or ``None`` if there was none."""
        ...

    async def list(self, group: str) -> dict[str, PresenceInfo]:
        """Every presence in ``group``, in every process."""
        ...


class HistoryStore(Protocol):
    """Where a layer keeps the recent messages of resumable groups."""

    async def read(self, group: str, since: Position | str | None) -> GroupHistory:
        """What ``group`` kept after ``since`` (everything kept when ``None``)."""
        ...


class StoredGroupState(PresenceLayer, HistoryLayer):
    """Presence and history over a layer's stores (see :mod:`.presence`, :mod:`.history`).

    A layer that mixes this in sets ``_presence``, ``_history`` and
    ``history_policy`` in its constructor.
    """

    _presence: PresenceStore
    _history: HistoryStore

    @abc.abstractmethod
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """The layer's own ``group_send``, which carries join/leave announcements."""

    async def presence_add(
        self,
        group: str,
        channel: str,
        info: Mapping[str, Any] | None = None,
        *,
        announce: bool = False,
    ) -> None:
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        text = await self._presence.add(group, channel, info)
        if announce:
            await self.group_send(group, presence_event(JOIN_TYPE, group, channel, text))

    async def presence_discard(self, group: str, channel: str, *, announce: bool = False) -> None:
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        text = await self._presence.discard(group, channel)
        if announce and text is not None:
            await self.group_send(group, presence_event(LEAVE_TYPE, group, channel, text))

    async def presence(self, group: str) -> dict[str, PresenceInfo]:
        require_valid_group_name(group)
        return await self._presence.list(group)

    async def group_history(self, group: str, since: Position | str | None = None) -> GroupHistory:
        require_valid_group_name(group)
        return await self._history.read(group, since)
