"""The presence and history methods both Redis layers share, as one mixin.

A layer that mixes this in sets ``_presence`` (:class:`~.presence.RedisPresence`),
``_history`` (:class:`~.history.RedisHistory`) and ``history_policy`` in its
constructor; its ``group_send`` carries the join/leave announcements.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from ...history import GroupHistory, HistoryLayer, Position
from ...naming import require_valid_channel_name, require_valid_group_name
from ...presence import JOIN_TYPE, LEAVE_TYPE, PresenceInfo, PresenceLayer, presence_event
from .history import RedisHistory
from .presence import RedisPresence


class RedisGroupState(PresenceLayer, HistoryLayer):
    """Presence and history for a Redis layer (see :mod:`fast_channels.layers.presence`)."""

    _presence: RedisPresence
    _history: RedisHistory

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
