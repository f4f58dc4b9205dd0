"""Register the app's channel layers once per process."""

import os

from fast_channels.layers import (
    has_layers,
    register_channel_layer,
    registered_aliases,
    unregister_channel_layer,
)
from fast_channels.layers.redis import RedisChannelLayer


def setup_channel_layers() -> None:
    """Register every layer the app uses; calling it again does nothing."""
    if has_layers():
        return
    redis_url = os.environ.get("REDIS_URL", "redis://localhost:6379")
    register_channel_layer("default", RedisChannelLayer(hosts=[redis_url], prefix="lobby"))


async def close_channel_layers() -> None:
    """Unregister and close every layer (at shutdown)."""
    for alias in registered_aliases():
        layer = unregister_channel_layer(alias)
        if layer is not None:
            await layer.close()
