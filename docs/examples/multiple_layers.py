"""Several layers, one per kind of traffic, each under a descriptive alias."""

import os

from fast_channels.layers import InMemoryChannelLayer, has_layers, register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer


def setup_channel_layers() -> None:
    if has_layers():
        return  # already done in this process
    redis_url = os.environ.get("REDIS_URL", "redis://localhost:6379")

    # Typing indicators and "who is online": fast, and a lost one is harmless.
    register_channel_layer(
        "presence", RedisPubSubChannelLayer(hosts=[redis_url], prefix="presence")
    )
    # Order status for the customer's open tabs: must not be missed, so queue it.
    register_channel_layer(
        "orders",
        RedisChannelLayer(hosts=[redis_url], prefix="orders", expiry=600, capacity=500),
    )
    # Pings between consumers of this one process (e.g. "reload your settings").
    register_channel_layer("local", InMemoryChannelLayer())
