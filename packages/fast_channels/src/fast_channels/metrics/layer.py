"""Counters a channel layer keeps: plain ints on the hot path, one object per layer.

The layer holds a :class:`LayerMetrics` (``layer.metrics``) and, when metrics
are on, its :class:`Counts` (``layer._count``, ``None`` when off): each place
where something happens does ``count.sent += 1`` and nothing else. No lock:
everything is written by event loop threads (a layer used from two loops may
lose an increment to a race, never corrupt a value). Reconnects and heals are
rare, so :class:`LinkMetrics` has methods, keeps counting when metrics are
off and logs the structured events of :mod:`.events`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .events import RateLimitedLog
from .events import logger as events_logger
from .histogram import Histogram
from .switch import is_enabled


class Counts:
    """The hot-path counters of one layer (see the module docs)."""

    __slots__ = (
        "channel_full",
        "expired",
        "group_deliveries",
        "group_sends",
        "heartbeats",
        "no_subscriber",
        "reasserted",
        "received",
        "sent",
        "undecodable",
    )

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.group_sends = 0
        self.group_deliveries = 0
        self.channel_full = 0
        self.expired = 0
        self.undecodable = 0
        self.no_subscriber = 0
        self.heartbeats = 0
        self.reasserted = 0


class LinkMetrics:
    """One Redis server's background connection: losses, returns, time spent down."""

    __slots__ = (
        "_down_since",
        "_owner",
        "address",
        "disconnected_seconds_closed",
        "disconnects",
        "latency",
        "reconnects",
    )

    def __init__(self, owner: LayerMetrics, address: str, latency: Histogram | None) -> None:
        self._owner = owner
        self.address = address
        self.latency = latency
        self.disconnects = 0
        self.reconnects = 0
        self._down_since: float | None = None
        self.disconnected_seconds_closed = 0.0

    def down(self) -> None:
        """The connection failed (idempotent until :meth:`up`)."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            self.disconnects += 1

    def up(self) -> None:
        """The connection works (again); counts a reconnect after :meth:`down`."""
        since, self._down_since = self._down_since, None
        if since is None:
            return
        seconds = time.monotonic() - since
        self.reconnects += 1
        self.disconnected_seconds_closed += seconds
        self._owner.event(
            "reconnected",
            lambda n, alias: (
                f"Channel layer {alias!r} reconnected to Redis at {self.address} "
                f"after {seconds:.1f}s disconnected"
            ),
            shard=self.address,
            level=logging.WARNING,
        )

    @property
    def connected(self) -> bool:
        return self._down_since is None

    def disconnected_seconds(self) -> float:
        """Seconds spent disconnected, including the outage going on now."""
        since = self._down_since
        ongoing = time.monotonic() - since if since is not None else 0.0
        return self.disconnected_seconds_closed + ongoing


class LayerMetrics:
    """Everything one layer counts (``layer.metrics``); read it with ``layer.stats()``."""

    def __init__(self, layer_type: str) -> None:
        self.layer_type = layer_type
        self.enabled = is_enabled()
        #: The hot-path counters, ``None`` when metrics are off.
        self.counts: Counts | None = Counts() if self.enabled else None
        self.links: dict[str, LinkMetrics] = {}
        self.heals = 0
        self.healed = 0
        self._log = RateLimitedLog()

    def link(self, address: str) -> LinkMetrics:
        """The counters of the server at ``address`` (made on first use)."""
        link = self.links.get(address)
        if link is None:
            latency = Histogram() if self.enabled else None
            link = self.links[address] = LinkMetrics(self, address, latency)
        return link

    def healed_memberships(self, count: int, what: str, shard: str = "") -> None:
        """``count`` memberships or subscriptions were restored after a reconnect."""
        self.heals += 1
        self.healed += count
        self.event(
            "healed",
            lambda n, alias: f"Channel layer {alias!r} healed {n} {what} on {shard or 'Redis'}",
            count=count,
            shard=shard,
            level=logging.INFO,
        )

    def dropped(self, count: int, text: Callable[[int], str], log: logging.Logger) -> None:
        """``count`` messages to full channels were dropped: log ``text(n)``, rate-limited."""
        self.event("dropped", lambda n, alias: text(n), count=count, log=log)

    def event(
        self,
        kind: str,
        text: Callable[[int, str], str],
        *,
        count: int = 1,
        shard: str = "",
        level: int = logging.WARNING,
        log: logging.Logger = events_logger,
    ) -> None:
        """Log ``text(count, alias)`` as a structured, rate-limited event (:mod:`.events`)."""

        def fields() -> dict[str, str]:
            from .stats import alias_of  # stats imports the layers, which import this module

            return {"alias": alias_of(self), "layer": self.layer_type, "shard": shard}

        self._log.emit(
            kind,
            lambda n, found: text(n, found["alias"] or "?"),
            count=count,
            level=level,
            log=log,
            fields=fields,
        )
