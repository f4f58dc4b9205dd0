"""fast-channels: Django-Channels-style consumers and channel layers for FastAPI.

Import what you need from the subpackages:

- :mod:`fast_channels.layers` — layers and the registry;
- :mod:`fast_channels.layers.redis` — the Redis layers (``fast-channels[redis]``);
- :mod:`fast_channels.consumer` — consumers;
- :mod:`fast_channels.testing` — communicators for tests;
- :mod:`fast_channels.middleware` — ASGI middleware for consumers.
"""

from __future__ import annotations

from .exceptions import ChannelFull, ChannelLayerNotRegistered

__version__ = "0.1.0"
__all__ = ["ChannelFull", "ChannelLayerNotRegistered", "__version__"]
