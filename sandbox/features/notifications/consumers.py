"""The notifications consumers: one group, relayed over a WebSocket or as Server-Sent Events."""

from __future__ import annotations

import json
from typing import Any

from fast_channels.consumer.sse import AsyncSseConsumer

from ...layers import NOTIFICATIONS
from ..base import BadAction, SandboxJsonConsumer
from .push import GROUP, check_text, push_notification


class NotificationsConsumer(SandboxJsonConsumer):
    """Every open page has one; ``groups`` joins it to the notifications group."""

    channel_layer_alias = NOTIFICATIONS
    groups = [GROUP]  # noqa: RUF012  # the consumer API reads a plain class attribute

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"type": "ready", "text": "Listening for notifications."})

    async def action_notify(self, content: dict[str, Any]) -> None:
        """``{"type": "notify", "text": "..."}`` from the page: push to every page."""
        raw = content.get("text")
        try:
            text = check_text(raw if isinstance(raw, str) else "")
        except ValueError as exc:
            raise BadAction(str(exc)) from None
        await push_notification(text, source="page")

    async def notification_push(self, event: dict[str, Any]) -> None:
        """A notification from the layer (type ``notification.push``)."""
        await self.send_json(notification_json(event))


class NotificationsStream(AsyncSseConsumer):
    """The same group as a ``text/event-stream``, for pages without WebSockets.

    ``curl -N http://127.0.0.1:8080/sse/notifications`` shows the live stream.
    The group keeps history (``NOTIFICATIONS_HISTORY``): each event's ``id`` is its
    position in the group, so a browser that reconnects with ``Last-Event-ID`` gets
    every notification sent while it was away, then the live ones, each once.
    """

    channel_layer_alias = NOTIFICATIONS
    history_group = GROUP  # joined when the stream opens, replayed from Last-Event-ID
    retry_ms = 2000  # how long a browser waits before reconnecting a dropped stream

    async def notification_push(self, event: dict[str, Any]) -> None:
        """A notification from the layer: one ``event: notification`` frame."""
        await self.send_event(
            json.dumps(notification_json(event)),
            event="notification",
            id=self.position_id(event),
        )


def notification_json(event: dict[str, Any]) -> dict[str, Any]:
    """What a page receives for one ``notification.push`` event, on either transport."""
    return {
        "type": "notification",
        "id": event["id"],
        "text": event["text"],
        "source": event["source"],
        "sent_at": event["sent_at"],
    }
