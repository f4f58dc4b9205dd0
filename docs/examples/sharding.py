"""Spread channels and groups over several Redis servers.

``REDIS_SHARDS`` lists the servers, comma separated. Every process must list the
same servers in the same order: the order decides which server holds what.
"""

import os

from fast_channels.layers.redis import RedisChannelLayer


def sharded_layer() -> RedisChannelLayer:
    urls = [url.strip() for url in os.environ["REDIS_SHARDS"].split(",")]
    return RedisChannelLayer(hosts=urls, prefix="fanout")
