"""Expiry: a message nobody reads in time is dropped, never delivered late."""

import os

from fast_channels.layers.redis import RedisChannelLayer


def short_lived_layer() -> RedisChannelLayer:
    return RedisChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://localhost:6379")],
        prefix="quotes",
        expiry=5,  # a price quote is useless after five seconds: drop it
        group_expiry=3600,  # a group membership lasts an hour unless renewed (default: a day)
    )
