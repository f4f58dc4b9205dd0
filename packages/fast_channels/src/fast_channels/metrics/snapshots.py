"""The typed snapshots ``layer.stats()`` and ``consumer_stats()`` return."""

from __future__ import annotations

from dataclasses import dataclass, field

from .histogram import HistogramSnapshot

#: The causes a message is dropped for (keys of :attr:`LayerStats.drops`).
DROP_CAUSES = ("channel_full", "expired", "undecodable", "no_subscriber")


@dataclass(frozen=True)
class LinkStats:
    """One Redis server (shard or node) as one layer of this process sees it."""

    #: The server's address (as in error messages, no password).
    address: str
    #: False from a failure of any of the layer's connections to it (reader,
    #: subscriber, pipe) until one of them connects again.
    connected: bool
    #: Times the layer lost its connection to the server (one per outage).
    disconnects: int
    #: Times it connected again after a loss.
    reconnects: int
    #: Seconds spent disconnected, the current outage included.
    disconnected_seconds: float
    #: Round trips of short calls (the shard's pipe), successful ones only.
    latency: HistogramSnapshot | None


@dataclass(frozen=True)
class LayerStats:
    """What one channel layer of this process did since it was built."""

    #: Registry alias ("" when the layer is not registered).
    alias: str
    #: Class name: ``InMemoryChannelLayer``, ``RedisChannelLayer``...
    layer_type: str
    #: False when metrics were switched off: the counters stay at zero.
    enabled: bool
    #: ``send()`` calls that succeeded.
    messages_sent: int
    #: Messages ``receive()`` returned.
    messages_received: int
    #: ``group_send()`` calls that succeeded.
    group_sends: int
    #: Member channels (pub/sub: subscribed connections) ``group_send`` reached.
    group_deliveries: int
    #: Dropped messages by cause (every key of :data:`DROP_CAUSES` is present).
    drops: dict[str, int]
    #: Process-local receive buffers (channels with local state) right now.
    buffers: int
    #: Messages waiting in those buffers right now.
    buffered_messages: int
    #: Groups this process holds members of right now.
    groups: int
    #: (group, channel) memberships of this process right now.
    memberships: int
    #: Redis subscriptions of this process right now (pub/sub layer).
    subscriptions: int
    #: Heartbeats that re-asserted memberships, and memberships re-asserted.
    heartbeats: int
    memberships_reasserted: int
    #: Heals: memberships or subscriptions restored after a reconnect, and how many.
    heals: int
    healed: int
    #: Per Redis server (empty for the in-memory layer).
    links: tuple[LinkStats, ...] = field(default=())


@dataclass(frozen=True)
class ConsumerStats:
    """What the WebSocket connections of one consumer class did in this process."""

    #: ``module.QualName`` of the consumer class.
    consumer: str
    #: Connections accepted and not closed yet.
    open_connections: int
    #: Handshakes accepted, and refused (``close()`` before ``accept()``, auth).
    accepted: int
    denied: int
    #: Frames received from clients and sent to them.
    frames_in: int
    frames_out: int
    #: Exceptions raised by handlers (the socket was closed with 1011).
    handler_errors: int
    #: Closes of accepted connections by close code (client's or server's).
    close_codes: dict[int, int]
