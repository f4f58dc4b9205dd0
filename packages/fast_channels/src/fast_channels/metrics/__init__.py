"""Metrics: what every channel layer and consumer class of this process is doing.

Counting is on by default and costs one integer increment per event (see
``bench/metrics_overhead.py``). Read it three ways:

- ``layer.stats()``: a :class:`LayerStats` snapshot of one layer;
  :func:`layer_stats` gives every registered layer's, by alias;
- :func:`consumer_stats`: a :class:`ConsumerStats` per WebSocket consumer class;
- Prometheus: ``app.mount("/metrics", metrics_app())`` with the
  ``fast-channels[prometheus]`` extra (:mod:`fast_channels.metrics.prometheus`).

Switch counting off with :func:`set_enabled` (``False``) or the environment
variable ``FAST_CHANNELS_METRICS=0``, before layers are built.
"""

from __future__ import annotations

from typing import Any

from ..types import ASGIApp
from .consumers import consumer_stats, reset_consumer_stats
from .events import RateLimitedLog
from .histogram import BOUNDS_US, Histogram, HistogramSnapshot
from .snapshots import DROP_CAUSES, ConsumerStats, LayerStats, LinkStats
from .switch import is_enabled, set_enabled

__all__ = [
    "BOUNDS_US",
    "DROP_CAUSES",
    "ConsumerStats",
    "Histogram",
    "HistogramSnapshot",
    "LayerStats",
    "LinkStats",
    "RateLimitedLog",
    "consumer_stats",
    "is_enabled",
    "layer_stats",
    "metrics_app",
    "reset_consumer_stats",
    "set_enabled",
]


def layer_stats() -> dict[str, LayerStats]:
    """A snapshot of every registered channel layer, by alias.

    A third-party layer whose ``__init__`` did not call ``BaseChannelLayer.__init__``
    has no counters and is left out.
    """
    from ..layers.registry import get_channel_layer, registered_aliases
    from .stats import layer_stats as one

    layers = {alias: get_channel_layer(alias) for alias in registered_aliases()}
    return {
        alias: one(layer, alias) for alias, layer in layers.items() if hasattr(layer, "metrics")
    }


def metrics_app(**kwargs: Any) -> ASGIApp:
    """The Prometheus exposition as an ASGI app (needs ``fast-channels[prometheus]``).

    See :func:`fast_channels.metrics.prometheus.metrics_app`.
    """
    from .prometheus import metrics_app as make

    app: ASGIApp = make(**kwargs)
    return app
