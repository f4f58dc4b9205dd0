"""Room chat: ``/ws/room/{room_name}?name=<display name>&after=<position>`` on "chat".

Each room is a group (``room.<room_name>``) on the pub/sub layer, so a message
reaches every member of that room, in any web process, and nobody else. Rooms
are *resumable* (``CHAT_HISTORY`` in ``sandbox/layers.py``) and members are
*present* in them:

- on join the page gets the room's last messages, then who is here (a
  ``presence`` frame, from every web process), then live join/leave notices,
  which are the layer's ``presence.join``/``presence.leave`` events;
- a page that reconnects sends the position of the last message it showed as
  ``?after=`` and gets what it missed, each message once, in order, or a
  ``reset`` when that is impossible (see :mod:`..resume`).

A visitor who signed in (``POST /api/signin``, see :mod:`.signin`) chats under the
name in the signed cookie, marked ``"verified": true``; anyone else picks a name
with ``?name=`` and is shown as a guest.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs

from fast_channels.layers.naming import MAX_NAME_LENGTH, require_valid_group_name
from fast_channels.layers.presence import PresenceLayer

from ...layers import CHAT
from ..base import required_text
from ..resume import ResumingConsumer, after_param

MAX_NAME_CHARS = 32
#: Close codes 4000-4999 are the app's own; the page does not retry after these.
CLOSE_BAD_REQUEST = 4400
#: The group is "room.<room_name>", so the room name has 5 characters less.
ROOM_RULE = (
    "ASCII letters, digits, hyphens, underscores and periods only, "
    f"at most {MAX_NAME_LENGTH - 1 - len('room.')} characters"
)


def member_id(channel: str) -> str:
    """A stable, opaque id for a member: pages never see channel names."""
    return hashlib.sha256(channel.encode()).hexdigest()[:12]


def member(channel: str, info: dict[str, Any]) -> dict[str, Any]:
    """One entry of the page's "who is here" list."""
    return {
        "id": member_id(channel),
        "name": str(info.get("name", "?")),
        "verified": bool(info.get("verified", False)),
    }


class ChatConsumer(ResumingConsumer):
    """One member of one chat room."""

    channel_layer_alias = CHAT

    room: str = ""
    group: str | None = None
    display_name: str = ""
    verified: bool = False

    async def connect(self) -> None:
        # Accept first so the page can be told *why* it is refused, then close.
        await self.accept()
        self.room = str(self.scope["path_params"]["room_name"])
        try:
            group = require_valid_group_name(f"room.{self.room}")
        except TypeError:
            await self._refuse(
                "invalid_room",
                f"Room name {self.room!r} is not a valid group name: use {ROOM_RULE}.",
            )
            return
        user = self.scope.get("user")
        # Signed in: the name comes from the signed cookie, so no field can change it.
        self.verified = bool(user is not None and user.is_authenticated)
        if self.verified:
            name = user.display_name  # type: ignore[union-attr]  # checked just above
        else:
            query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
            name = (query.get("name") or [""])[0].strip() or "anonymous"
        if len(name) > MAX_NAME_CHARS:
            await self._refuse(
                "invalid_name",
                f"Display name is {len(name)} characters; the limit is {MAX_NAME_CHARS}.",
            )
            return
        self.group, self.display_name = group, name
        await self.send_json(
            {
                "type": "joined",
                "room": self.room,
                "name": self.display_name,
                "verified": self.verified,
            }
        )
        # Joins the room and replays its last messages (or what this page missed).
        await self.resume(group, after_param(self.scope))
        # Present from now on, and announced: every member gets a presence.join.
        info = {"name": self.display_name, "verified": self.verified}
        await self._presence().presence_add(group, self.channel_name, info, announce=True)
        await self.send_presence()

    async def disconnect(self, code: int) -> None:
        if self.group is None:
            return
        # The room itself is left by the library (group_resume joined it).
        await self._presence().presence_discard(self.group, self.channel_name, announce=True)

    async def send_presence(self) -> None:
        """Send the page who is in the room now, across every web process."""
        if self.group is None:
            return
        here = await self._presence().presence(self.group)
        members = sorted(
            (member(channel, info) for channel, info in here.items()),
            key=lambda m: (m["name"].lower(), m["id"]),
        )
        await self.send_json({"type": "presence", "room": self.room, "members": members})

    async def action_who(self, content: dict[str, Any]) -> None:
        """``{"type": "who"}``: the page asks for the presence list again."""
        await self.send_presence()

    def _presence(self) -> PresenceLayer:
        layer = self.channel_layer
        if not isinstance(layer, PresenceLayer):
            raise TypeError(f"the chat layer ({type(layer).__name__}) must support presence")
        return layer

    async def action_message(self, content: dict[str, Any]) -> None:
        """``{"type": "message", "text": "..."}`` from the page: broadcast to the room."""
        if self.group is None:
            return
        text = required_text(content, self.settings.max_message_bytes)
        await self.channel_layer.group_send(
            self.group,
            {
                "type": "chat.message",
                "room": self.room,
                "name": self.display_name,
                "verified": self.verified,
                "text": text,
            },
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        """A room message from the layer (type ``chat.message``)."""
        await self.send_json(
            self.page_frame(
                event,
                type="message",
                room=event["room"],
                name=event["name"],
                verified=event.get("verified", False),
                text=event["text"],
            )
        )

    async def presence_join(self, event: dict[str, Any]) -> None:
        """Someone arrived (the layer's ``presence.join``, sent by ``presence_add``)."""
        await self._notice(event, "join", "joined")

    async def presence_leave(self, event: dict[str, Any]) -> None:
        """Someone left (``presence.leave``); a crashed process's members just lapse."""
        await self._notice(event, "leave", "left")

    async def _notice(self, event: dict[str, Any], kind: str, verb: str) -> None:
        who = member(str(event["channel"]), event.get("info") or {})
        await self.send_json(
            self.page_frame(
                event,
                type="notice",
                event=kind,
                room=self.room,
                name=who["name"],
                member=who,
                text=f"{who['name']} {verb} the room",
            )
        )

    async def _refuse(self, code: str, message: str) -> None:
        await self.send_error(code, message)
        await self.close(code=CLOSE_BAD_REQUEST)
