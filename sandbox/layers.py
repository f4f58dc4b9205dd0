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
``"chat"``                RedisPubSubChannelLayer       room chat: lowest latency; a
                                                        message nobody listens to is fine
                                                        to lose
``"notifications"``       RedisPubSubChannelLayer       broadcasts to every open page
``"jobs"``                RedisChannelLayer (queue)     worker -> consumer progress: the
                                                        queue holds events until the
                                                        consumer reads them, so a busy
                                                        consumer misses nothing
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
        for alias in (CHAT, NOTIFICATIONS, JOBS, MEMORY):
            register_channel_layer(alias, InMemoryChannelLayer())
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
    register_channel_layer(CHAT, RedisPubSubChannelLayer(**where, prefix="chat"))
    register_channel_layer(NOTIFICATIONS, RedisPubSubChannelLayer(**where, prefix="notify"))
    # Queue layer: events wait in Redis up to `expiry` seconds for a slow reader.
    register_channel_layer(
        JOBS, RedisChannelLayer(**where, prefix="jobs", expiry=900, capacity=1000)
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
