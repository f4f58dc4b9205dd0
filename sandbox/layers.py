"""The sandbox's channel layers. Copy this file: it is the pattern we recommend.

One function, :func:`setup_channel_layers`, registers every layer the app uses
under a descriptive alias. The web app (in its factory), the arq worker (in
``on_startup``) and the external scripts all call it, so a host or a port is
written in exactly one place: the environment (``REDIS_URL``, or
``REDIS_CLUSTER_NODES`` for a Redis Cluster).

Aliases and why each exists:

========================  ===========================  ================================
alias                     layer                         used for
========================  ===========================  ================================
``"chat"``                RedisPubSubChannelLayer       room chat: lowest latency, with
                                                        presence (who is in the room) and
                                                        history (``CHAT_HISTORY``), so a
                                                        page that reconnects gets what it
                                                        missed, and a new one the last
                                                        messages
``"notifications"``       RedisPubSubChannelLayer       broadcasts to every open page,
                                                        with history
                                                        (``NOTIFICATIONS_HISTORY``) for
                                                        SSE pages that reconnect
``"jobs"``                RedisChannelLayer (queue)     worker -> page progress, to a
                                                        group per browser session with
                                                        history (``JOBS_HISTORY``): a
                                                        reloaded page replays its jobs
``"memory"``              InMemoryChannelLayer          process-local demo: the web
                                                        process only
``"sentinel"``            RedisChannelLayer + Sentinel  only when ``REDIS_SENTINELS`` is set
========================  ===========================  ================================

Where Redis is comes from the environment (:func:`redis_location`): one
server at ``REDIS_URL``, or a Redis Cluster when ``REDIS_CLUSTER_NODES`` lists
seed nodes (``host:port,host:port``). The aliases and their uses stay the same
either way, so no consumer or worker changes when the app scales out.

Each Redis layer gets its own ``prefix`` so they can share one Redis (and one
Redis can be shared by several apps or environments) without seeing each
other's channels and groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fast_channels.layers import (
    BaseChannelLayer,
    InMemoryChannelLayer,
    get_channel_layer,
    has_layers,
    register_channel_layer,
    registered_aliases,
    unregister_channel_layer,
)

from .settings import Settings, get_settings

#: Aliases every sandbox process can rely on (the "sentinel" one is optional).
CHAT, NOTIFICATIONS, JOBS, MEMORY, SENTINEL = "chat", "notifications", "jobs", "memory", "sentinel"

# Resumable groups: which groups keep history, as {glob: (messages, seconds)}, the
# way channel_capacity takes patterns. Only matching groups pay for it (one capped
# Redis stream each); every message sent to them carries a position
# ("<epoch>:<offset>") that a page keeps and sends back when it reconnects.

#: Chat rooms ("room.<name>") keep their last 50 messages for 10 minutes: a new
#: member sees the last messages, and a page that lost its connection for up to
#: 10 minutes (a server restart, a laptop lid) gets every message it missed.
#: Join/leave events count as messages too. Longer gaps: the page reloads the room.
CHAT_HISTORY = {"room.*": (50, 600)}
#: Each browser session's jobs ("jobs.session.<id>", see features/jobs) keep their
#: last 500 events for an hour, so a reloaded page rebuilds its running and recent
#: jobs (a job is 2 events plus one per step, at most 50 steps).
JOBS_HISTORY = {"jobs.session.*": (500, 3600)}
#: The notifications group keeps its last 100 notifications for 10 minutes, so a
#: page on Server-Sent Events that lost its stream (a restart, a flaky proxy) gets
#: the ones sent while it was away when the browser reconnects with Last-Event-ID.
NOTIFICATIONS_HISTORY = {"notifications": (100, 600)}


def setup_channel_layers(settings: Settings | None = None) -> list[str]:
    """Register the sandbox's layers once per process and return their aliases.

    Safe to call more than once: the ``has_layers()`` guard makes the second call
    a no-op, so the app factory, a test and a script can all call it.
    Constructing a layer does no I/O; connections open on first use.
    """
    if has_layers():
        return registered_aliases()
    settings = settings or get_settings()

    # The environment switch: tests run the single-process features without Redis.
    if settings.layers == "memory":
        register_channel_layer(CHAT, InMemoryChannelLayer(group_history=CHAT_HISTORY))
        register_channel_layer(
            NOTIFICATIONS, InMemoryChannelLayer(group_history=NOTIFICATIONS_HISTORY)
        )
        register_channel_layer(JOBS, InMemoryChannelLayer(group_history=JOBS_HISTORY))
        register_channel_layer(MEMORY, InMemoryChannelLayer())
        return registered_aliases()

    _register_redis_layers(settings)
    return registered_aliases()


def redis_location(settings: Settings) -> dict[str, Any]:
    """Where the chat, notifications and jobs layers find Redis, as layer arguments.

    One Redis (``REDIS_URL``): ``{"hosts": [url]}``. A Redis Cluster
    (``REDIS_CLUSTER_NODES``): ``{"cluster_nodes": [(host, port), ...]}``, plus
    the node password when there is one. ``cluster_nodes`` is only passed when
    the setting is set, so the same file serves both set-ups.
    """
    if settings.cluster_nodes:
        # A few seed nodes are enough: the layer asks them for the slot map and
        # follows MOVED/ASK replies during a reshard or after a failover.
        location: dict[str, Any] = {"cluster_nodes": settings.cluster_nodes}
        if settings.redis_password:  # a URL carries its own; host:port pairs cannot
            location["connection_kwargs"] = {"password": settings.redis_password}
        return location
    if not settings.redis_url:
        raise RuntimeError(
            "REDIS_URL is not set: point it at a Redis (e.g. redis://localhost:6379/0), "
            "start everything with `python -m sandbox`, or set SANDBOX_LAYERS=memory."
        )
    return {"hosts": [settings.redis_url]}


def _register_redis_layers(settings: Settings) -> None:
    # Imported here so the memory switch works without the fast-channels[redis] extra.
    from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    where = redis_location(settings)
    # Pub/sub stays fire-and-forget for live delivery; group_history is what makes a
    # room recoverable: storing and publishing are one script, so a message is in
    # the history before anyone can receive it, even if nobody is subscribed.
    register_channel_layer(
        CHAT, RedisPubSubChannelLayer(**where, prefix="chat", group_history=CHAT_HISTORY)
    )
    register_channel_layer(
        NOTIFICATIONS,
        RedisPubSubChannelLayer(**where, prefix="notify", group_history=NOTIFICATIONS_HISTORY),
    )
    # Queue layer: events wait in Redis up to `expiry` seconds for a slow reader, and a
    # session's job events are also kept in its group's history (stored and fanned
    # out in one script) for a page that reloads.
    register_channel_layer(
        JOBS,
        RedisChannelLayer(
            **where, prefix="jobs", expiry=900, capacity=1000, group_history=JOBS_HISTORY
        ),
    )
    register_channel_layer(MEMORY, InMemoryChannelLayer())

    # High availability: the layer asks the sentinels where the master is, and asks
    # again after a failover. Passwords are optional and come from the environment.
    if settings.sentinels:
        sentinel_kwargs = (
            {"password": settings.redis_sentinel_password}
            if settings.redis_sentinel_password
            else {}
        )
        connection_kwargs = {"password": settings.redis_password} if settings.redis_password else {}
        register_channel_layer(
            SENTINEL,
            RedisChannelLayer(
                sentinels=settings.sentinels,
                service_name=settings.redis_sentinel_service,
                sentinel_kwargs=sentinel_kwargs,
                connection_kwargs=connection_kwargs,
                prefix="sentinel",
                expiry=600,
            ),
        )


async def close_channel_layers() -> None:
    """Close and unregister every layer (app lifespan end, worker shutdown, scripts)."""
    for alias in registered_aliases():
        layer = unregister_channel_layer(alias)
        if layer is not None:
            await layer.close()


@dataclass(frozen=True)
class LayerInfo:
    """What the showcase page says about one registered layer."""

    alias: str
    kind: str
    cross_process: bool

    @property
    def label(self) -> str:
        """A short human name for the layer type."""
        return _LABELS.get(self.kind, self.kind)


_LABELS = {
    "InMemoryChannelLayer": "in memory",
    "RedisChannelLayer": "Redis queue",
    "RedisPubSubChannelLayer": "Redis pub/sub",
}


def describe_layers() -> list[LayerInfo]:
    """The registered layers, for pages and scripts that list them."""
    infos = []
    for alias in registered_aliases():
        layer: BaseChannelLayer = get_channel_layer(alias)
        kind = type(layer).__name__
        infos.append(LayerInfo(alias, kind, cross_process=not kind.startswith("InMemory")))
    return infos
