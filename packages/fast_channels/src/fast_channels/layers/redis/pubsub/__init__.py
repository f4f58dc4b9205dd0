"""The Redis pub/sub layer: nothing stored, the lowest latency.

:mod:`.layer` is the public class; :mod:`.subscriptions` what each event loop
subscribes and routes; :mod:`.inbox` the bounded per-channel buffers.
"""

from .layer import RedisPubSubChannelLayer

__all__ = ["RedisPubSubChannelLayer"]
