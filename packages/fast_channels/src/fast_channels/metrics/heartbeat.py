"""Counting heartbeats, and telling a heal from a routine re-assertion.

A heartbeat re-asserts this process's memberships every couple of seconds.
Most of the time Redis still had them; after an outage (a failed heartbeat,
or a reconnect of a shard's reader since the last one) the first heartbeat
that succeeds is what restores them: a heal, counted and logged.
"""

from __future__ import annotations

from .layer import LayerMetrics


class HeartbeatMetrics:
    """The heartbeat side of one layer's metrics (a no-op without metrics)."""

    __slots__ = ("_metrics", "_reconnects")

    def __init__(self, metrics: LayerMetrics | None) -> None:
        self._metrics = metrics
        self._reconnects = self._total_reconnects()

    def _total_reconnects(self) -> int:
        if self._metrics is None:
            return 0
        return sum(link.reconnects for link in list(self._metrics.links.values()))

    def beat(self, reasserted: int, *, failed: bool, what: str = "memberships") -> None:
        """A heartbeat re-asserted ``reasserted`` entries; ``failed``: the one before failed."""
        metrics = self._metrics
        if metrics is None:
            return
        if (count := metrics.counts) is not None:
            count.heartbeats += 1
            count.reasserted += reasserted
        reconnects = self._total_reconnects()
        if (failed or reconnects != self._reconnects) and reasserted:
            metrics.healed_memberships(reasserted, what)
        self._reconnects = reconnects
