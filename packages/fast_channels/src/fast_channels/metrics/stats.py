"""Building :class:`~.snapshots.LayerStats` from a layer's counters and its live state.

Counters are read as they are; the gauges (buffers, memberships,
subscriptions) are counted from the layer's own structures at snapshot time,
so nothing is maintained on the hot path for them. A snapshot taken from
another thread while the loop mutates a dict may find it changing size:
it is retried a few times, then reported as zero.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from .layer import Counts, LayerMetrics
from .snapshots import DROP_CAUSES, LayerStats, LinkStats

if TYPE_CHECKING:
    from ..layers.base import BaseChannelLayer

#: buffers, buffered messages, groups, memberships, subscriptions
_Gauges = tuple[int, int, int, int, int]
_NONE: _Gauges = (0, 0, 0, 0, 0)


def alias_of(metrics: LayerMetrics) -> str:
    """The registry alias of the layer that owns ``metrics`` ("" if unregistered)."""
    from ..layers.registry import get_channel_layer, registered_aliases

    for alias in registered_aliases():
        with contextlib.suppress(LookupError):
            if getattr(get_channel_layer(alias), "metrics", None) is metrics:
                return alias
    return ""


def layer_stats(layer: BaseChannelLayer, alias: str | None = None) -> LayerStats:
    """A snapshot of ``layer`` (see :meth:`BaseChannelLayer.stats`)."""
    metrics = layer.metrics
    counts = metrics.counts or Counts()
    gauges = _NONE
    for _ in range(3):
        with contextlib.suppress(RuntimeError):  # "changed size during iteration"
            gauges = _gauges(layer)
            break
    links = tuple(
        LinkStats(
            address=link.address,
            connected=link.connected,
            disconnects=link.disconnects,
            reconnects=link.reconnects,
            disconnected_seconds=link.disconnected_seconds(),
            latency=link.latency.snapshot() if link.latency is not None else None,
        )
        for link in list(metrics.links.values())
    )
    return LayerStats(
        alias=alias_of(metrics) if alias is None else alias,
        layer_type=metrics.layer_type,
        enabled=metrics.enabled,
        messages_sent=counts.sent,
        messages_received=counts.received,
        group_sends=counts.group_sends,
        group_deliveries=counts.group_deliveries,
        drops={cause: getattr(counts, cause) for cause in DROP_CAUSES},
        buffers=gauges[0],
        buffered_messages=gauges[1],
        groups=gauges[2],
        memberships=gauges[3],
        subscriptions=gauges[4],
        heartbeats=counts.heartbeats,
        memberships_reasserted=counts.reasserted,
        heals=metrics.heals,
        healed=metrics.healed,
        links=links,
    )


def _gauges(layer: BaseChannelLayer) -> _Gauges:
    from ..layers.memory import InMemoryChannelLayer

    if isinstance(layer, InMemoryChannelLayer):
        channels = list(layer._channels.values())
        buffered = sum(len(c.items or ()) for c in channels)  # None: nothing ever waited
        return len(channels), buffered, len(layer._groups), len(layer._memberships), 0
    if "fast_channels.layers.redis" not in sys.modules:  # no Redis layer exists then
        return _NONE
    from ..layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    if isinstance(layer, RedisChannelLayer):
        return _sum(_queue_gauges(state) for state in layer._conns.locals())
    if isinstance(layer, RedisPubSubChannelLayer):
        return _sum(_pubsub_gauges(state) for state in layer._conns.locals())
    return _NONE


def _queue_gauges(state: Any) -> _Gauges:
    boxes = [
        box for reader in list(state.inboxes.values()) for box in list(reader.mailboxes.values())
    ]
    boxes += [reader.mailbox for reader in list(state.named.values())]
    pairs = list(state.members._added)
    groups = {group for group, _ in pairs}
    return len(boxes), sum(len(box.items) for box in boxes), len(groups), len(pairs), 0


def _pubsub_gauges(state: Any) -> _Gauges:
    inboxes = list(state.inboxes.values())
    groups = list(state.groups.values())
    buffered = sum(len(inbox.items) for inbox in inboxes)
    members = sum(len(m) for m in groups)
    return len(inboxes), buffered, len(groups), members, len(state.routes)


def _sum(parts: Any) -> _Gauges:
    totals = [0, 0, 0, 0, 0]
    for part in parts:
        for i, value in enumerate(part):
            totals[i] += value
    return (totals[0], totals[1], totals[2], totals[3], totals[4])
