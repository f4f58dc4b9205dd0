"""Room chat: ``/ws/room/{room_name}?name=<display name>`` on the "chat" layer.

Each room is a group (``room.<room_name>``) on the pub/sub layer, so a message
reaches every member of that room, in any web process, and nobody else.

A visitor who signed in (``POST /api/signin``, see :mod:`.signin`) chats under the
name in the signed cookie, marked ``"verified": true``; anyone else picks a name
with ``?name=`` and is shown as a guest.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fast_channels.layers.naming import MAX_NAME_LENGTH, require_valid_group_name

from ...layers import CHAT
from ..base import SandboxJsonConsumer, required_text

MAX_NAME_CHARS = 32
#: Close codes 4000-4999 are the app's own; the page does not retry after these.
CLOSE_BAD_REQUEST = 4400
#: The group is "room.<room_name>", so the room name has 5 characters less.
ROOM_RULE = (
    "ASCII letters, digits, hyphens, underscores and periods only, "
    f"at most {MAX_NAME_LENGTH - 1 - len('room.')} characters"
)


class ChatConsumer(SandboxJsonConsumer):
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
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(
            {
                "type": "joined",
                "room": self.room,
                "name": self.display_name,
                "verified": self.verified,
            }
        )
        await self._notice("join")

    async def disconnect(self, code: int) -> None:
        if self.group is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self._notice("leave")

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
            {
                "type": "message",
                "room": event["room"],
                "name": event["name"],
                "verified": event.get("verified", False),
                "text": event["text"],
            }
        )

    async def chat_notice(self, event: dict[str, Any]) -> None:
        """Someone joined or left the room (type ``chat.notice``)."""
        verb = "joined" if event["event"] == "join" else "left"
        await self.send_json(
            {
                "type": "notice",
                "event": event["event"],
                "room": event["room"],
                "name": event["name"],
                "text": f"{event['name']} {verb} the room",
            }
        )

    async def _notice(self, kind: str) -> None:
        if self.group is not None:
            await self.channel_layer.group_send(
                self.group,
                {
                    "type": "chat.notice",
                    "event": kind,
                    "room": self.room,
                    "name": self.display_name,
                },
            )

    async def _refuse(self, code: str, message: str) -> None:
        await self.send_error(code, message)
        await self.close(code=CLOSE_BAD_REQUEST)
