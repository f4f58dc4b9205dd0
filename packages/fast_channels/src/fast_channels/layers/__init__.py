"""Channel layers: the contract, the in-memory layer and the alias registry.

The Redis layers live in :mod:`fast_channels.layers.redis` and need the
``fast-channels[redis]`` extra.
"""

from __future__ import annotations

from .base import BaseChannelLayer
from .memory import InMemoryChannelLayer
from .registry import (
    get_channel_layer,
    has_layers,
    register_channel_layer,
    registered_aliases,
    unregister_channel_layer,
)

__all__ = [
    "BaseChannelLayer",
    "InMemoryChannelLayer",
    "get_channel_layer",
    "has_layers",
    "register_channel_layer",
    "registered_aliases",
    "unregister_channel_layer",
]
