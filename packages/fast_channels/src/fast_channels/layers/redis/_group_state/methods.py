"""The presence and history methods of both Redis layers, over their Redis stores.

A layer that mixes this in sets ``_presence`` (:class:`~.presence.RedisPresence`),
``_history`` (:class:`~.history.RedisHistory`) and ``history_policy`` in its
constructor; its ``group_send`` carries the join/leave announcements.
"""

from __future__ import annotations

from ...group_state import StoredGroupState
from .history import RedisHistory
from .presence import RedisPresence


class RedisGroupState(StoredGroupState):
    """Presence and history for a Redis layer (see :mod:`fast_channels.layers.presence`)."""

    _presence: RedisPresence
    _history: RedisHistory
