"""A queue layer that follows the Redis master Sentinel points at.

Configured from the environment, for example::

    REDIS_SENTINELS=sentinel-a:26379,sentinel-b:26379,sentinel-c:26379
    REDIS_SENTINEL_SERVICE=mymaster
    REDIS_SENTINEL_PASSWORD=...   # optional: the sentinels' own password
    REDIS_PASSWORD=...            # optional: the Redis servers' password
"""

import os

from fast_channels.layers.redis import RedisChannelLayer


def parse_sentinels(value: str) -> list[tuple[str, int]]:
    """``"host:port,host:port"`` -> ``[("host", port), ...]``."""
    pairs = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        pairs.append((host, int(port)))
    return pairs


def sentinel_layer() -> RedisChannelLayer:
    return RedisChannelLayer(
        sentinels=parse_sentinels(os.environ["REDIS_SENTINELS"]),
        service_name=os.environ.get("REDIS_SENTINEL_SERVICE", "mymaster"),
        # Options for talking to the sentinels, and to the Redis servers they point at.
        # A password of None means "no password".
        sentinel_kwargs={"password": os.environ.get("REDIS_SENTINEL_PASSWORD")},
        connection_kwargs={"password": os.environ.get("REDIS_PASSWORD")},
        prefix="orders",
        expiry=600,
        capacity=2000,
    )
