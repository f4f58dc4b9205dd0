"""Presence and resumable groups for consumers: the part of ``AsyncConsumer`` that uses them.

Presence is declared like ``groups``::

    class RoomConsumer(AsyncWebsocketConsumer):
        presence_groups = ["lobby"]      # joined, and present, for the connection's life
        presence_events = True           # announce presence.join / presence.leave

        def presence_info(self):
            return {"user": self.scope["user"]}

        async def presence_join(self, event):  # {"group", "channel", "info"}
            ...

A resumable group (one that matches the layer's ``group_history``) is joined with
:meth:`GroupStateMixin.group_resume` from a handler (``connect`` is the usual
place): it joins the group, replays what the client missed through the normal
handlers, then lets live messages through, and never the same message twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from ..layers.history import HistoryLayer, Position
from ..layers.presence import PresenceLayer
from ..types import Message

if TYPE_CHECKING:
    from ..layers.base import BaseChannelLayer

logger = logging.getLogger("fast_channels.consumer")


class GroupStateMixin:
    """Presence and history ergonomics; mixed into :class:`~.base.AsyncConsumer`."""

    #: Groups this consumer joins *and* is present in while connected.
    presence_groups: ClassVar[list[str]] = []
    #: Send ``presence.join``/``presence.leave`` to those groups when it arrives/leaves.
    presence_events: ClassVar[bool] = False
    # Default handlers of the join/leave events: reachable through the layer.
    _library_handlers: ClassVar[frozenset[str]] = frozenset({"presence_join", "presence_leave"})

    # Per group, the position of the last message dispatched from a resumed group
    # (None until group_resume() is called, so other consumers pay nothing).
    _floors: dict[str, Position] | None = None
    _resumed: list[str] | None = None

    if TYPE_CHECKING:
        groups: ClassVar[list[str]]

        @property
        def channel_layer(self) -> BaseChannelLayer: ...

        @property
        def channel_name(self) -> str: ...

        async def dispatch(self, message: Message) -> None: ...

    def presence_info(self) -> dict[str, Any] | None:
        """The description others see in ``presence()``; override it. ``None`` is ``{}``.

        At most 1 KiB as JSON (a clear ``MessageTooLarge`` beyond that).
        """
        return None

    async def presence_join(self, message: Message) -> None:
        """Handler for ``presence.join`` events; does nothing unless overridden."""

    async def presence_leave(self, message: Message) -> None:
        """Handler for ``presence.leave`` events; does nothing unless overridden."""

    async def group_presence(self, group: str) -> dict[str, dict[str, Any]]:
        """Who is present in ``group`` across every process: ``{channel: info}``."""
        layer = self.channel_layer
        if not isinstance(layer, PresenceLayer):
            raise TypeError(f"{type(layer).__name__} does not support presence")
        return await layer.presence(group)

    async def group_resume(
        self, group: str, position: Position | str | None, *, recent: bool = False
    ) -> int:
        """Join resumable ``group`` and dispatch what was missed after ``position``.

        Call it from a handler (``connect``), so no live message is dispatched in
        between. Missed messages go through the normal handlers, in order; live
        ones follow, each message once. With ``position=None`` it just joins, or,
        with ``recent=True``, first replays every message the group still keeps
        (the last messages of a chat room). Returns how many were replayed.

        Raises :class:`~fast_channels.exceptions.InvalidPosition` for a malformed
        ``position`` (before joining) and
        :class:`~fast_channels.exceptions.HistoryUnrecoverable` when missed
        messages are gone; in that case the group *is* joined and live messages
        continue from the current position, so reload the client's state and go on.
        """
        layer = self.channel_layer
        if not isinstance(layer, HistoryLayer):
            raise TypeError(f"{type(layer).__name__} keeps no history: group_resume() needs one")
        since = Position.parse(position) if position is not None else None
        await layer.group_add(group, self.channel_name)
        if group not in self.groups and group not in self.presence_groups:
            self._resumed = [*(self._resumed or []), group]  # left when the consumer stops
        floors = self._floors = self._floors if self._floors is not None else {}
        if since is None and not recent:
            return 0
        try:
            history = await layer.group_history(group, since)
        except Exception as exc:
            current = getattr(exc, "position", None)
            if isinstance(current, Position):
                floors[group] = current  # live delivery continues after what is there now
            raise
        if since is not None:
            floors[group] = since
        elif history.messages:
            first = Position.of(history.messages[0])
            if first is not None:
                floors[group] = Position(first[1].epoch, first[1].offset - 1)
        elif history.position is not None:
            floors[group] = history.position
        for message in history.messages:
            await self.dispatch(message)
        return len(history.messages)

    @staticmethod
    def position_id(message: Message) -> str | None:
        """The position of a message from a resumable group as a string (an SSE ``id``)."""
        found = Position.of(message)
        return str(found[1]) if found is not None else None

    def _already_dispatched(self, message: Message) -> bool:
        """True for a live message of a resumed group that was replayed already."""
        floors = self._floors
        found = Position.of(message) if floors is not None else None
        if found is None or floors is None:
            return False
        group, position = found
        floor = floors.get(group)
        if floor is None:
            return False
        if position.epoch == floor.epoch and position.offset <= floor.offset:
            return True
        floors[group] = position
        return False

    async def _join_presence(self, layer: BaseChannelLayer, channel: str) -> None:
        if not self.presence_groups:
            return
        if not isinstance(layer, PresenceLayer):
            raise TypeError(
                f"{type(self).__name__}.presence_groups is set but {type(layer).__name__} "
                "does not support presence."
            )
        info = self.presence_info()
        for group in self.presence_groups:
            if group not in self.groups:
                await layer.group_add(group, channel)
            await layer.presence_add(group, channel, info, announce=self.presence_events)

    async def _leave_group_state(self, layer: BaseChannelLayer, channel: str) -> None:
        """Leave presence and resumed groups; a failing layer is logged, not raised."""
        leaving = [(g, True) for g in self.presence_groups] + [
            (g, False) for g in self._resumed or ()
        ]
        for group, present in leaving:
            try:
                if present and isinstance(layer, PresenceLayer):
                    await layer.presence_discard(group, channel, announce=self.presence_events)
                if group not in self.groups:
                    await layer.group_discard(group, channel)
            except Exception:  # a failing layer must not hide the original error
                logger.exception("Could not leave group %r for %s", group, channel)
