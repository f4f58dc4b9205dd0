"""Both Redis layers while a real Redis Cluster changes under them.

Each test gets a cluster of its own (``fresh_redis_cluster``): a live reshard
(MOVED and ASK while messages flow, one slot to a node added meanwhile), a
graceful ``CLUSTER FAILOVER`` and a SIGKILLed master whose replica is promoted.
The queue layer must lose nothing it acknowledged (within capacity); pub/sub must resume within
:data:`PUBSUB_RESUME_BOUND` seconds, the bound the docs give (measured times are
printed; with ``cluster-node-timeout 2000`` they were a few seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.layers.redis._transport.slots import key_slot

from .cluster_fixture import ClusterNode, RedisCluster

pytestmark = [pytest.mark.redis_cluster, pytest.mark.slow]

#: Seconds within which pub/sub delivers again after a killed master (the docs' bound:
#: cluster-node-timeout plus the election plus our reconnect, with room).
PUBSUB_RESUME_BOUND = 15.0
AnyLayer = RedisChannelLayer | RedisPubSubChannelLayer


@pytest.fixture
async def make_layer(
    fresh_redis_cluster: RedisCluster,
) -> AsyncIterator[Callable[..., AnyLayer]]:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    made: list[AnyLayer] = []

    def make(cls: type[AnyLayer] = RedisChannelLayer, **kwargs: Any) -> AnyLayer:
        layer = cls(cluster_nodes=fresh_redis_cluster.seeds, prefix=prefix, **kwargs)
        made.append(layer)
        return layer

    yield make
    for layer in made:
        await layer.close()


async def _send_until_ok(layer: AnyLayer, channel: str, message: dict[str, Any]) -> None:
    """Send, retrying while the cluster cannot take writes (a master just died)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await layer.send(channel, message)
            return
        except ChannelLayerConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def _traffic(
    sender: AnyLayer,
    channels: list[str],
    count: int,
    interval: float,
    until: asyncio.Event | None = None,
) -> dict[str, list[int]]:
    """Send numbered messages to each channel, one every ``interval`` seconds.

    At least ``count``; with ``until``, also until it is set, and ``count`` more after.
    """
    sent: dict[str, list[int]] = {c: [] for c in channels}
    i = extra = 0
    while i < count or (until is not None and (not until.is_set() or extra < count)):
        for channel in channels:
            await _send_until_ok(sender, channel, {"type": "seq", "i": i})
            sent[channel].append(i)
        extra += 1 if until is not None and until.is_set() else 0
        i += 1
        await asyncio.sleep(interval)
    return sent


async def _collect(layer: AnyLayer, channel: str, got: list[int]) -> None:
    while True:
        got.append((await layer.receive(channel))["i"])


async def _until(condition: Callable[[], bool], limit: float) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110  (lists other tasks fill; cheap to poll)
            await asyncio.sleep(0.01)


async def _drain(layer: AnyLayer, channel: str, count: int, limit: float) -> list[int]:
    got: list[int] = []
    async with asyncio.timeout(limit):
        while len(got) < count:
            got.append((await layer.receive(channel))["i"])
    return got


async def _pubsub_resumes(pub: AnyLayer, sub: AnyLayer, channel: str, limit: float) -> float:
    """Publish every 50 ms until ``sub`` gets one on ``channel``; return the seconds it took."""
    start = time.monotonic()
    waiter = asyncio.ensure_future(sub.receive(channel))
    try:
        while not waiter.done():
            if time.monotonic() - start > limit:
                raise AssertionError(f"pub/sub did not resume within {limit}s")
            with contextlib.suppress(ChannelLayerConnectionError):  # its master is dead
                await pub.send(channel, {"type": "ping"})
            await asyncio.wait({waiter}, timeout=0.05)
        return time.monotonic() - start
    finally:
        waiter.cancel()


def _other_master(cluster: RedisCluster, slot: int) -> ClusterNode:
    owner = cluster.owner(slot)
    return next(n for n in cluster.masters() if n.port != owner.port)


async def test_live_reshard_to_old_and_new_nodes_under_both_layers(
    make_layer: Callable[..., AnyLayer], fresh_redis_cluster: RedisCluster
) -> None:
    cluster = fresh_redis_cluster
    receiver = make_layer()
    sender = make_layer()
    local = await receiver.new_channel()
    named = "reshard.named"
    sub = make_layer(RedisPubSubChannelLayer)
    pub = make_layer(RedisPubSubChannelLayer)
    pubsub_channel = "reshard.pubsub"
    first = asyncio.ensure_future(sub.receive(pubsub_channel))
    await asyncio.sleep(0.2)
    await pub.send(pubsub_channel, {"type": "before"})
    assert (await asyncio.wait_for(first, 5))["type"] == "before"

    inbox_slot = key_slot(local.split("!")[0] + "!")
    slots = {key_slot(named), inbox_slot, key_slot(pubsub_channel)}
    targets = {slot: _other_master(cluster, slot) for slot in slots}
    # A node the layers have never heard of joins; the named channel's slot moves there.
    added = await asyncio.to_thread(cluster.add_master)
    targets[key_slot(named)] = added
    asking_before = sum(cluster.command_calls(n, "asking") for n in cluster.masters())

    migrated = asyncio.Event()
    traffic = asyncio.ensure_future(_traffic(sender, [named, local], 50, 0.005, migrated))
    got: dict[str, list[int]] = {named: [], local: []}
    collectors = [asyncio.ensure_future(_collect(receiver, ch, got[ch])) for ch in got]
    await asyncio.sleep(0.3)  # messages flow before the reshard starts
    pubsub_slot = key_slot(pubsub_channel)
    for slot, target in targets.items():  # in a thread: the loop keeps sending meanwhile
        if slot != pubsub_slot:
            await asyncio.to_thread(cluster.migrate_slot, slot, target, 0.3)
    if pubsub_slot in targets:  # last, to time how soon pub/sub delivers again
        await asyncio.to_thread(cluster.migrate_slot, pubsub_slot, targets[pubsub_slot], 0.3)
    resumed = await _pubsub_resumes(pub, sub, pubsub_channel, PUBSUB_RESUME_BOUND)
    migrated.set()
    sent = await traffic
    try:
        await _until(lambda: all(len(got[c]) >= len(sent[c]) for c in got), 30)
    finally:
        for collector in collectors:
            collector.cancel()
        await asyncio.gather(*collectors, return_exceptions=True)

    for channel in (named, local):  # nothing lost, nothing twice, in order
        assert got[channel] == sent[channel] == list(range(len(sent[channel])))
    for slot, target in targets.items():
        assert cluster.owner(slot).port == target.port
    asking = sum(cluster.command_calls(n, "asking") for n in cluster.masters()) - asking_before
    print(f"ASKING sent during the reshard: {asking}")
    assert asking > 0  # the layer followed ASK redirections, not only MOVED
    print(f"pub/sub delivered again {resumed:.3f}s after its slot's move was complete")
    assert await _pubsub_resumes(pub, sub, pubsub_channel, 5) < 1  # and stays there


async def test_graceful_failover_loses_nothing(
    make_layer: Callable[..., AnyLayer], fresh_redis_cluster: RedisCluster
) -> None:
    cluster = fresh_redis_cluster
    receiver, sender = make_layer(), make_layer()
    named = "failover.named"
    local = await receiver.new_channel()
    inbox_slot = key_slot(local.split("!")[0] + "!")
    sub, pub = make_layer(RedisPubSubChannelLayer), make_layer(RedisPubSubChannelLayer)
    await _pubsub_resumes(pub, sub, "failover.pubsub", 5)  # subscribed and working

    count = 150
    traffic = asyncio.ensure_future(_traffic(sender, [named, local], count, 0.01))
    drains = [asyncio.ensure_future(_drain(receiver, ch, count, 60)) for ch in (named, local)]
    await asyncio.sleep(0.3)
    # The masters to fail over, read before any failover (views lag while one runs).
    masters = {cluster.owner(s).port: cluster.owner(s) for s in (key_slot(named), inbox_slot)}
    for master in masters.values():
        replica = cluster.replica_of(master)
        with replica.client() as client:
            client.execute_command("CLUSTER", "FAILOVER")
        await asyncio.to_thread(cluster.wait_master, replica)
    sent = await traffic
    assert [await d for d in drains] == [sent[named], sent[local]] == [list(range(count))] * 2
    took = await _pubsub_resumes(pub, sub, "failover.pubsub", PUBSUB_RESUME_BOUND)
    print(f"pub/sub after CLUSTER FAILOVER: delivering again within {took:.2f}s")


async def test_killed_master_replica_promoted_queue_keeps_messages_pubsub_resumes(
    make_layer: Callable[..., AnyLayer], fresh_redis_cluster: RedisCluster
) -> None:
    cluster = fresh_redis_cluster
    receiver, sender = make_layer(), make_layer()
    named = "killed.named"
    master = cluster.owner(key_slot(named))
    events: list[str] = []
    sub = make_layer(
        RedisPubSubChannelLayer,
        on_disconnect=lambda: events.append("disconnect"),
        on_reconnect=lambda: events.append("reconnect"),
    )
    pub = make_layer(RedisPubSubChannelLayer)
    pubsub_channel = next(  # a pub/sub channel on the master that dies
        f"killed.pubsub.{i}"
        for i in range(1000)
        if cluster.owner(key_slot(f"killed.pubsub.{i}")).port == master.port
    )
    await _pubsub_resumes(pub, sub, pubsub_channel, 5)

    before = 50
    for i in range(before):  # stored, and replicated, before the master dies
        await sender.send(named, {"type": "seq", "i": i})
    await asyncio.to_thread(cluster.wait_replicated, master)
    replica = cluster.replica_of(master)
    master.kill()
    killed_at = time.monotonic()
    resumed = asyncio.ensure_future(_pubsub_resumes(pub, sub, pubsub_channel, PUBSUB_RESUME_BOUND))
    drain = asyncio.ensure_future(_drain(receiver, named, 2 * before, 60))
    for i in range(before, 2 * before):
        await _send_until_ok(sender, named, {"type": "seq", "i": i})
    writable_after = time.monotonic() - killed_at
    await asyncio.to_thread(cluster.wait_master, replica)
    assert await drain == list(range(2 * before))
    took = await resumed  # raises if it took longer than the bound
    await _until(lambda: "reconnect" in events, 5)
    assert events[0] == "disconnect"  # the callbacks fire as on a single server
    print(
        f"master SIGKILLed: queue writable again after {writable_after:.2f}s; "
        f"pub/sub delivering again {took:.2f}s after the kill"
    )
