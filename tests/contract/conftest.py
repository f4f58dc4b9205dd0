"""The ``layer`` fixture: every contract test runs once per channel layer.

Params: ``memory`` (InMemoryChannelLayer), ``redis`` (RedisChannelLayer) and
``pubsub`` (RedisPubSubChannelLayer), the last two against the session's
private Redis with a prefix unique to the test, so tests cannot see each
other's keys; ``redis-cluster`` and ``pubsub-cluster``, the same two layers
against the session's Redis Cluster (``cluster_nodes=``), skipped where no
Redis >= 7 is installed. A Redis layer that does not exist yet is skipped, not failed;
once its module exists, any import error is a real failure.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fast_channels.layers import BaseChannelLayer, InMemoryChannelLayer

LayerFactory = Callable[..., BaseChannelLayer]

#: The matrix runs this suite again with ``FAST_CHANNELS_TEST_PROTOCOL=3`` (RESP3)
#: and ``=2``; unset, the layers' own default applies.
_PROTOCOL = os.environ.get("FAST_CHANNELS_TEST_PROTOCOL")
_CONNECTION_KWARGS = {"protocol": int(_PROTOCOL)} if _PROTOCOL else None

_REDIS_CLASSES = {
    "redis": "RedisChannelLayer",
    "pubsub": "RedisPubSubChannelLayer",
    "redis-cluster": "RedisChannelLayer",
    "pubsub-cluster": "RedisPubSubChannelLayer",
}


def _redis_layer_class(class_name: str) -> type[BaseChannelLayer]:
    """Import a Redis layer class, or skip the test if it is not written yet."""
    package = "fast_channels.layers.redis"
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        # Only a missing module of our own package means "not written yet"; a
        # missing third-party dependency (redis, msgpack) is a real failure.
        if exc.name and exc.name.startswith(package):
            pytest.skip(f"{class_name} not implemented yet ({exc})")
        raise
    cls = getattr(module, class_name, None)
    if cls is None:
        pytest.skip(f"{class_name} not implemented yet ({package} does not export it)")
    if not (isinstance(cls, type) and issubclass(cls, BaseChannelLayer)):
        raise TypeError(f"{package}.{class_name} is not a BaseChannelLayer subclass")
    return cls


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
        pytest.param("pubsub", id="pubsub", marks=pytest.mark.redis),
        pytest.param("redis-cluster", id="redis-cluster", marks=pytest.mark.redis_cluster),
        pytest.param("pubsub-cluster", id="pubsub-cluster", marks=pytest.mark.redis_cluster),
    ]
)
def layer_factory(request: pytest.FixtureRequest) -> LayerFactory:
    """A constructor for the layer under test; keyword arguments go to the layer."""
    kind: str = request.param
    if kind == "memory":
        return InMemoryChannelLayer
    cls = _redis_layer_class(_REDIS_CLASSES[kind])
    prefix = f"contract{uuid.uuid4().hex[:10]}"
    # Only now start (or reuse) the session's Redis: skipped params never need it.
    where: dict[str, Any]
    if kind.endswith("-cluster"):
        where = {"cluster_nodes": request.getfixturevalue("_session_cluster").seeds[:2]}
    else:
        where = {"hosts": [request.getfixturevalue("redis_url")]}

    def make(**kwargs: Any) -> BaseChannelLayer:
        return cls(  # type: ignore[call-arg]
            **where, prefix=prefix, connection_kwargs=_CONNECTION_KWARGS, **kwargs
        )

    return make


@pytest.fixture
async def layer(layer_factory: LayerFactory) -> AsyncIterator[BaseChannelLayer]:
    """The layer under test, closed after the test (tests may close it themselves too)."""
    made = layer_factory()
    try:
        yield made
    finally:
        await made.close()
