"""Both Redis layers on a Redis Cluster (Redis 7 or newer, or a managed cluster).

Configured from the environment, for example::

    REDIS_CLUSTER_NODES=redis://node-1:6379,redis://node-2:6379
    REDIS_PASSWORD=...   # optional: the nodes' password (or put it in the URLs)
"""

import os

from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer


def cluster_nodes() -> list[str]:
    """A few seed nodes; the layers find every master (and its replicas) by themselves."""
    return [node.strip() for node in os.environ["REDIS_CLUSTER_NODES"].split(",")]


def queue_layer() -> RedisChannelLayer:
    return RedisChannelLayer(
        cluster_nodes=cluster_nodes(),
        # Every node gets these, the seeds and the nodes found later alike.
        connection_kwargs={"password": os.environ.get("REDIS_PASSWORD")},
        prefix="shop",
        expiry=300,
        capacity=500,
    )


def pubsub_layer() -> RedisPubSubChannelLayer:
    return RedisPubSubChannelLayer(
        cluster_nodes=cluster_nodes(),
        connection_kwargs={"password": os.environ.get("REDIS_PASSWORD")},
        prefix="live",
    )
