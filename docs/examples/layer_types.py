"""One of each layer type. Building a layer does no I/O: Redis is contacted on first use."""

import os

from fast_channels.layers import InMemoryChannelLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379")


def memory_layer() -> InMemoryChannelLayer:
    # Lives in this process only: tests, development, single-process apps.
    return InMemoryChannelLayer()


def queue_layer() -> RedisChannelLayer:
    # Messages wait in Redis until read: nothing is missed by a busy consumer.
    return RedisChannelLayer(
        hosts=[REDIS_URL],
        prefix="shop",  # namespaces every key, so several apps can share one Redis
        expiry=300,  # an unread message is dropped after 5 minutes (default 60 s)
        capacity=500,  # at most 500 waiting messages per channel (default 100)
    )


def pubsub_layer() -> RedisPubSubChannelLayer:
    # Redis PUBLISH/SUBSCRIBE: lowest latency, nothing stored.
    return RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix="live")
