"""The echo consumer: no channel layer, just this one connection."""

from __future__ import annotations

import json

from fast_channels.consumer.limits import LimitExceeded
from fast_channels.consumer.websocket import AsyncWebsocketConsumer

from ...guards import error_event


class EchoConsumer(AsyncWebsocketConsumer):
    """Sends every text frame back as ``{"type": "echo", "text": ...}``.

    ``channel_layer_alias = None``: this consumer uses no layer, so it has no
    ``channel_name`` and cannot join groups. Plain text in, JSON out.
    """

    channel_layer_alias = None

    async def connect(self) -> None:
        await self.accept()
        await self.send_event(
            {"type": "welcome", "text": "Connected. Anything you send comes back."}
        )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_event({"type": "echo", "text": f"<{len(bytes_data or b'')} bytes>"})
            return
        await self.send_event({"type": "echo", "text": text_data})

    async def limit_exceeded(self, exceeded: LimitExceeded) -> None:
        """A frame over the size or rate limit: tell this client, keep the socket open."""
        await self.send_event(error_event(exceeded.code, exceeded.message))

    async def send_event(self, event: dict[str, str]) -> None:
        await self.send(text_data=json.dumps(event))
