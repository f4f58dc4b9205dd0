"""The sandbox on a real Redis Cluster: ``REDIS_CLUSTER_NODES`` set, as compose's profile does.

The same app and ``sandbox/layers.py`` as everywhere else; only the setting differs.
Chat (pub/sub with presence and history), notifications and jobs (queue layer)
then live on the cluster, while ``REDIS_URL`` keeps arq's queue on one server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fast_channels.layers import get_channel_layer
from fastapi import FastAPI

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.integration.redis.cluster_fixture import RedisCluster

from .conftest import connect, needs_redis
from .test_chat_rooms import enter, room, say, texts

pytestmark = [needs_redis, pytest.mark.redis_cluster]


@pytest.fixture
async def cluster_app(
    redis_url: str, job_queue_name: str, redis_cluster: RedisCluster
) -> AsyncIterator[FastAPI]:
    nodes = ",".join(f"127.0.0.1:{node.port}" for node in redis_cluster.masters()[:2])
    settings = Settings(redis_url=redis_url, redis_cluster_nodes=nodes, job_queue=job_queue_name)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_chat_presence_and_history_work_on_the_cluster(cluster_app: Any) -> None:
    layer = get_channel_layer("chat")
    assert layer._conns.clustered  # type: ignore[attr-defined]  # it really is the cluster
    lobby = room()
    ann, _ = await enter(cluster_app, lobby, "ann")
    await say(ann, "first")
    bob, frames = await enter(cluster_app, lobby, "bob")
    here = next(f for f in frames if f["type"] == "presence")
    assert [m["name"] for m in here["members"]] == ["ann", "bob"]
    assert texts([f for f in frames if f.get("replay")]) == ["ann joined the room", "first"]
    joined = await ann.receive_json_from(timeout=5)
    assert (joined["event"], joined["member"]["name"]) == ("join", "bob")
    await bob.send_json_to({"type": "message", "text": "hi ann"})
    for ws in (ann, bob):
        frame = await ws.receive_json_from(timeout=5)
        assert (frame["type"], frame["text"]) == ("message", "hi ann")
    await bob.disconnect()
    await ann.disconnect()


async def test_every_redis_layer_delivers_through_the_cluster(cluster_app: Any) -> None:
    for alias, kind in [
        ("chat", "RedisPubSubChannelLayer"),
        ("notifications", "RedisPubSubChannelLayer"),
        ("jobs", "RedisChannelLayer"),
    ]:
        ws = await connect(cluster_app, f"/ws/showcase/{alias}")
        assert (await ws.receive_json_from())["kind"] == kind
        await ws.send_json_to({"type": "broadcast", "text": f"via {alias} on the cluster"})
        delivery = await ws.receive_json_from(timeout=10)
        assert (delivery["layer"], delivery["text"]) == (alias, f"via {alias} on the cluster")
        await ws.disconnect()
