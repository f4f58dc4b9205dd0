"""The Redis Cluster guide's samples, run against the test session's real Redis Cluster."""

from __future__ import annotations

import asyncio

import pytest
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from tests.integration.redis.cluster_fixture import RedisCluster

from .conftest import example

pytestmark = pytest.mark.redis_cluster


@pytest.fixture
def cluster_env(redis_cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch) -> RedisCluster:
    monkeypatch.setenv("REDIS_CLUSTER_NODES", ",".join(redis_cluster.seeds[:2]))
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    return redis_cluster


def test_building_cluster_layers_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_CLUSTER_NODES", "redis://127.0.0.1:1, redis://127.0.0.1:2")
    samples = example("cluster_layers")
    assert samples.cluster_nodes() == ["redis://127.0.0.1:1", "redis://127.0.0.1:2"]
    assert isinstance(samples.queue_layer(), RedisChannelLayer)
    assert isinstance(samples.pubsub_layer(), RedisPubSubChannelLayer)


async def test_both_cluster_layers_deliver_direct_and_group_messages(
    cluster_env: RedisCluster,
) -> None:
    samples = example("cluster_layers")
    for make in (samples.queue_layer, samples.pubsub_layer):
        async with make() as layer:
            # Members whose channels (and the group) sit in different slots and nodes.
            channels = [await layer.new_channel(), await layer.new_channel("other")]
            for channel in channels:
                await layer.group_add("docs.room", channel)
            await layer.group_send("docs.room", {"type": "docs.hello"})
            for channel in channels:
                assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "docs.hello"}
            await layer.send(channels[0], {"type": "docs.direct"})
            assert (await asyncio.wait_for(layer.receive(channels[0]), 5))["type"] == (
                "docs.direct"
            )
            await layer.flush()


def test_the_guide_states_the_bound_the_topology_tests_assert() -> None:
    from tests.integration.redis.test_cluster_topology import PUBSUB_RESUME_BOUND

    from .conftest import DOCS

    page = (DOCS / "guides" / "redis-cluster.rst").read_text()
    assert f"within {PUBSUB_RESUME_BOUND:.0f} seconds" in page
