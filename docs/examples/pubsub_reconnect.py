"""React when the pub/sub layer loses Redis and when it is back."""

import logging
import os

from fast_channels.layers.redis import RedisPubSubChannelLayer

logger = logging.getLogger("myapp.layers")


async def redis_lost() -> None:
    # Messages published from now until the reconnect will not reach this process.
    logger.warning("lost the connection to Redis; live updates paused")


async def redis_back() -> None:
    # Every channel and group is subscribed again by now. Whatever was published in
    # between is gone: tell clients to refresh state they can't afford to miss.
    logger.warning("reconnected to Redis; live updates resumed")


def live_layer() -> RedisPubSubChannelLayer:
    return RedisPubSubChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://localhost:6379")],
        prefix="live",
        on_disconnect=redis_lost,
        on_reconnect=redis_back,
    )
