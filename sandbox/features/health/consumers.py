"""The Health page's consumer: a snapshot of the metrics every second."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import ClassVar

from fast_channels.consumer.websocket import AsyncWebsocketConsumer

from .snapshot import health_snapshot

logger = logging.getLogger(__name__)


class HealthConsumer(AsyncWebsocketConsumer):
    """Pushes :func:`health_snapshot` to the page every ``interval`` seconds.

    It uses no channel layer: the metrics are this process's own, read
    directly, so the page keeps updating while Redis is down.
    """

    channel_layer_alias = None
    interval: ClassVar[float] = 1.0

    async def connect(self) -> None:
        await self.accept()
        self._ticker = asyncio.create_task(self._tick(), name="sandbox health ticker")

    async def disconnect(self, code: int) -> None:
        self._ticker.cancel()
        await asyncio.gather(self._ticker, return_exceptions=True)

    async def _tick(self) -> None:
        while True:
            try:
                await self.send(text_data=json.dumps(health_snapshot()))
            except OSError:  # the client went away; disconnect() follows
                return
            except Exception:  # a bug in the snapshot: say so, keep the socket, try again
                logger.exception("Health snapshot failed")
            await asyncio.sleep(self.interval)
