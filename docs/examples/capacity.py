"""Capacity: how many messages may wait in one channel, and what to do when it is full."""

import asyncio
import os
import re

from fast_channels.exceptions import ChannelFull
from fast_channels.layers.redis import RedisChannelLayer


def bounded_layer() -> RedisChannelLayer:
    return RedisChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://localhost:6379")],
        prefix="feeds",
        capacity=100,  # the default for every channel...
        channel_capacity={
            "ticker.*": 1000,  # ...except channels matching a glob pattern
            re.compile(r"^audit\..+"): 5000,  # ...or a compiled regular expression
        },
    )


async def send_with_retry(
    layer: RedisChannelLayer, channel: str, message: dict[str, str], attempts: int = 3
) -> bool:
    """Send, waiting a little between tries when the reader is behind. False if it never fit."""
    for attempt in range(attempts):
        try:
            await layer.send(channel, message)
            return True
        except ChannelFull:
            await asyncio.sleep(0.05 * 2**attempt)  # give the reader a moment to catch up
    return False
