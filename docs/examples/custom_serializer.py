"""Choose how messages are encoded in Redis, or plug in your own format."""

import os
import zlib
from typing import Any

from fast_channels.layers.redis import MsgpackSerializer, RedisChannelLayer

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379")


def readable_layer() -> RedisChannelLayer:
    # JSON instead of the default msgpack: bigger, but readable in redis-cli.
    return RedisChannelLayer(hosts=[REDIS_URL], prefix="debug", serializer="json")


class CompressedSerializer:
    """msgpack, then zlib: less Redis memory for large messages such as reports."""

    def __init__(self, level: int = 6) -> None:
        self.inner = MsgpackSerializer()
        self.level = level

    def dumps(self, message: dict[str, Any]) -> bytes:
        return zlib.compress(self.inner.dumps(message), self.level)

    def loads(self, data: bytes) -> dict[str, Any]:
        return self.inner.loads(zlib.decompress(data))


def compressed_layer() -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[REDIS_URL], prefix="reports", serializer=CompressedSerializer())
