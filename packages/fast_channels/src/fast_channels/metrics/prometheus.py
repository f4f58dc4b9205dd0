"""Prometheus exposition of :mod:`fast_channels.metrics` (``fast-channels[prometheus]``).

A custom collector reads the snapshots (:func:`~fast_channels.metrics.layer_stats`,
:func:`~fast_channels.metrics.consumer_stats`) when Prometheus scrapes, so the
hot path never touches ``prometheus-client``. Mount it in one line::

    app.mount("/metrics", metrics_app())

or add :class:`FastChannelsCollector` to a registry you already expose. The
metric names are listed in the observability guide (one table, checked by a
test against what this module exports).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

try:
    from prometheus_client import CollectorRegistry, make_asgi_app
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise ImportError(
        "fast_channels.metrics.prometheus needs prometheus-client: "
        'pip install "fast-channels[prometheus]"'
    ) from exc

from ..types import ASGIApp
from . import consumer_stats, layer_stats
from .snapshots import ConsumerStats, LayerStats

_LAYER = ["alias", "layer"]
_LINK = ["alias", "layer", "shard"]

#: (name, help, LayerStats attribute) of the per-layer counters.
_LAYER_COUNTERS = (
    ("fast_channels_layer_messages_sent", "Messages send() sent.", "messages_sent"),
    ("fast_channels_layer_messages_received", "Messages receive() returned.", "messages_received"),
    ("fast_channels_layer_group_sends", "group_send() calls.", "group_sends"),
    (
        "fast_channels_layer_group_deliveries",
        "Member channels (pub/sub: subscribed connections) group_send reached.",
        "group_deliveries",
    ),
    ("fast_channels_layer_heartbeats", "Membership heartbeats that succeeded.", "heartbeats"),
    (
        "fast_channels_layer_memberships_reasserted",
        "Memberships the heartbeats re-asserted.",
        "memberships_reasserted",
    ),
    ("fast_channels_layer_heals", "Heals after a reconnect.", "heals"),
    ("fast_channels_layer_healed", "Memberships or subscriptions restored by heals.", "healed"),
)
_LAYER_GAUGES = (
    ("fast_channels_layer_buffers", "Process-local receive buffers.", "buffers"),
    ("fast_channels_layer_buffered_messages", "Messages in those buffers.", "buffered_messages"),
    ("fast_channels_layer_groups", "Groups this process has members in.", "groups"),
    ("fast_channels_layer_memberships", "Memberships of this process.", "memberships"),
    ("fast_channels_layer_subscriptions", "Redis subscriptions of this process.", "subscriptions"),
)


class FastChannelsCollector(Collector):
    """Every registered layer's and every consumer class's metrics, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        layers = list(layer_stats().values())
        yield from _layer_metrics(layers)
        yield from _link_metrics(layers)
        yield from _consumer_metrics(list(consumer_stats().values()))


def _layer_metrics(layers: list[LayerStats]) -> Iterator[Metric]:
    for name, text, attribute in _LAYER_COUNTERS:
        counter = CounterMetricFamily(name, text, labels=_LAYER)
        for stats in layers:
            counter.add_metric([stats.alias, stats.layer_type], getattr(stats, attribute))
        yield counter
    dropped = CounterMetricFamily(
        "fast_channels_layer_messages_dropped",
        "Messages dropped, by cause.",
        labels=[*_LAYER, "cause"],
    )
    for stats in layers:
        for cause, value in stats.drops.items():
            dropped.add_metric([stats.alias, stats.layer_type, cause], value)
    yield dropped
    for name, text, attribute in _LAYER_GAUGES:
        gauge = GaugeMetricFamily(name, text, labels=_LAYER)
        for stats in layers:
            gauge.add_metric([stats.alias, stats.layer_type], getattr(stats, attribute))
        yield gauge


def _link_metrics(layers: list[LayerStats]) -> Iterator[Metric]:
    connected = GaugeMetricFamily(
        "fast_channels_redis_connected", "1 while the connection to Redis is up.", labels=_LINK
    )
    disconnects = CounterMetricFamily(
        "fast_channels_redis_disconnects", "Connections to Redis lost.", labels=_LINK
    )
    reconnects = CounterMetricFamily(
        "fast_channels_redis_reconnects", "Connections to Redis restored.", labels=_LINK
    )
    down = CounterMetricFamily(
        "fast_channels_redis_disconnected_seconds",
        "Seconds spent disconnected from Redis.",
        labels=_LINK,
    )
    latency = HistogramMetricFamily(
        "fast_channels_redis_call_duration_seconds",
        "Round trips of short Redis calls.",
        labels=_LINK,
    )
    for stats in layers:
        for link in stats.links:
            labels = [stats.alias, stats.layer_type, link.address]
            connected.add_metric(labels, 1 if link.connected else 0)
            disconnects.add_metric(labels, link.disconnects)
            reconnects.add_metric(labels, link.reconnects)
            down.add_metric(labels, link.disconnected_seconds)
            if link.latency is not None:
                buckets = [(_bound(b), c) for b, c in link.latency.buckets]
                latency.add_metric(labels, buckets, link.latency.sum)
    yield from (connected, disconnects, reconnects, down, latency)


def _bound(seconds: float) -> str:
    return "+Inf" if seconds == float("inf") else repr(seconds)


def _consumer_metrics(consumers: list[ConsumerStats]) -> Iterator[Metric]:
    label = ["consumer"]
    opened = GaugeMetricFamily(
        "fast_channels_consumer_open_connections", "Accepted connections still open.", labels=label
    )
    handshakes = CounterMetricFamily(
        "fast_channels_consumer_handshakes",
        "WebSocket handshakes, by outcome (accepted, denied).",
        labels=[*label, "outcome"],
    )
    frames_in = CounterMetricFamily(
        "fast_channels_consumer_frames_received", "Frames received from clients.", labels=label
    )
    frames_out = CounterMetricFamily(
        "fast_channels_consumer_frames_sent", "Frames sent to clients.", labels=label
    )
    errors = CounterMetricFamily(
        "fast_channels_consumer_handler_errors", "Exceptions raised by handlers.", labels=label
    )
    closes = CounterMetricFamily(
        "fast_channels_consumer_closes",
        "Closes of accepted connections, by close code.",
        labels=[*label, "code"],
    )
    for stats in consumers:
        name = [stats.consumer]
        opened.add_metric(name, stats.open_connections)
        handshakes.add_metric([*name, "accepted"], stats.accepted)
        handshakes.add_metric([*name, "denied"], stats.denied)
        frames_in.add_metric(name, stats.frames_in)
        frames_out.add_metric(name, stats.frames_out)
        errors.add_metric(name, stats.handler_errors)
        for code, value in sorted(stats.close_codes.items()):
            closes.add_metric([*name, str(code)], value)
    yield from (opened, handshakes, frames_in, frames_out, errors, closes)


def own_registry() -> CollectorRegistry:
    """A new registry holding only :class:`FastChannelsCollector`."""
    own = CollectorRegistry(auto_describe=False)
    own.register(FastChannelsCollector())
    return own


def metrics_app(registry: CollectorRegistry | None = None, **kwargs: Any) -> ASGIApp:
    """An ASGI app serving the Prometheus text format: ``app.mount("/metrics", metrics_app())``.

    :param registry: what to expose; by default a registry of its own with
        :class:`FastChannelsCollector` only (pass ``prometheus_client.REGISTRY``
        after registering the collector there to expose both).
    :param kwargs: passed to ``prometheus_client.make_asgi_app`` (``disable_compression``).
    """
    app: ASGIApp = make_asgi_app(registry=registry or own_registry(), **kwargs)
    return app
