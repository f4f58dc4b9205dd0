"""Redis-backed channel layers (needs ``pip install "fast-channels[redis]"``).

- :class:`RedisChannelLayer` — queues in Redis: persistence until ``expiry``,
  ``capacity`` per channel, works across processes.
- :class:`RedisPubSubChannelLayer` — Redis pub/sub: lowest latency,
  fire-and-forget (nothing is stored).

Both share the private plumbing in ``_transport/`` (host parsing, sharding,
per-event-loop connections, the pipelined connection their short calls go
through, the shared subscriber, the connection error they raise) and
:mod:`.serializers`. Each layer is a package of its own: ``queue/`` and
``pubsub/``.
"""

from __future__ import annotations

try:  # checked here so the error names the extra, not a module deep inside
    import msgpack  # noqa: F401
    import redis.asyncio  # noqa: F401
except ImportError as exc:
    raise ImportError(
        f"fast_channels.layers.redis needs {exc.name!r}, which is not installed: "
        'pip install "fast-channels[redis]"'
    ) from exc

from .pubsub import RedisPubSubChannelLayer
from .queue import RedisChannelLayer
from .serializers import JSONSerializer, MsgpackSerializer, Serializer

__all__ = [
    "JSONSerializer",
    "MsgpackSerializer",
    "RedisChannelLayer",
    "RedisPubSubChannelLayer",
    "Serializer",
]
