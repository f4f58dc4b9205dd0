"""The notifications consumer: joins one group, relays what arrives there."""

from __future__ import annotations

from typing import Any

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
        await self.send_json(
            {
                "type": "notification",
                "id": event["id"],
                "text": event["text"],
                "source": event["source"],
                "sent_at": event["sent_at"],
            }
        )
