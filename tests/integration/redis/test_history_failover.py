"""History positions across a Sentinel failover: what the epoch says afterwards.

Real master, replica and three sentinels (``sentinel_cluster``). To make the
replica miss writes on purpose, it is frozen (SIGSTOP) and the master drops its
replication link (``CLIENT KILL TYPE replica``) before the writes; then the
master is killed and the replica thawed, so Sentinel promotes a replica that
never got them. What the tests show (and the guide documents):

* promoted replica had every write: same epoch, offsets continue, recovery works;
* it had none of the group's history: a new epoch, recovery raises ``"epoch"``;
* it had an older part of the history: the epoch stays and the group's newest
  offset goes back, so a position past it is refused as ``"ahead"``; the next
  write from a process that had seen a newer position (sent, read or received
  one) starts a new epoch. A process that had not (started after the failover)
  would issue the lost offsets again: the documented limit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis
from fast_channels.exceptions import ChannelLayerConnectionError, HistoryUnrecoverable
from fast_channels.layers.history import Position
from fast_channels.layers.redis import RedisChannelLayer

from .conftest import SentinelCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]

GROUP = "room-a"
T = TypeVar("T")


@pytest.fixture
async def layer(sentinel_cluster: SentinelCluster) -> AsyncIterator[RedisChannelLayer]:
    made = RedisChannelLayer(
        sentinels=sentinel_cluster.sentinels,
        service_name=sentinel_cluster.service_name,
        group_history={"room-*": (100, 300)},
    )
    yield made
    await made.close()


async def retry(call: Callable[[], Awaitable[T]], within: float = 20.0) -> T:
    """``call()`` until the layer reaches the new master (connection errors meanwhile)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await asyncio.wait_for(call(), 5)
        except (ChannelLayerConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def send(layer: RedisChannelLayer, *texts: str) -> Position:
    for text in texts:
        await layer.group_send(GROUP, {"type": "chat.message", "text": text})
    position = (await layer.group_history(GROUP)).position
    assert position is not None
    return position


def replicated(cluster: SentinelCluster) -> None:
    """Block until the replica has every write so far (``WAIT``)."""
    with redis.Redis(port=cluster.master.port) as client:
        assert client.wait(1, 5000) == 1


def cut_off_replica(cluster: SentinelCluster) -> None:
    """Freeze the replica and drop its link: later writes reach only the master."""
    assert cluster.replica.proc is not None
    os.kill(cluster.replica.proc.pid, signal.SIGSTOP)
    with redis.Redis(port=cluster.master.port) as client:
        assert client.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1


def fail_over(cluster: SentinelCluster, *, thaw: bool) -> float:
    cluster.master.kill()
    if thaw:
        assert cluster.replica.proc is not None
        os.kill(cluster.replica.proc.pid, signal.SIGCONT)
    return cluster.wait_for_promotion(timeout=40)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


async def test_a_replica_with_every_write_keeps_the_epoch_and_recovery_works(
    sentinel_cluster: SentinelCluster, layer: RedisChannelLayer
) -> None:
    seen = await send(layer, "one")
    last = await send(layer, "two", "three")
    replicated(sentinel_cluster)
    print(f"\npromoted in {fail_over(sentinel_cluster, thaw=False):.2f}s")

    missed = await retry(lambda: layer.group_history(GROUP, seen))
    assert missed.position == last
    assert texts(missed.messages) == ["two", "three"]
    after = await retry(lambda: send(layer, "four"))
    assert after == Position(last.epoch, last.offset + 1)


async def test_a_replica_without_the_groups_history_gives_a_new_epoch(
    sentinel_cluster: SentinelCluster, layer: RedisChannelLayer
) -> None:
    await layer.group_send("room-other", {"type": "chat.message", "text": "warm up"})
    replicated(sentinel_cluster)
    cut_off_replica(sentinel_cluster)
    seen = await send(layer, "lost one", "lost two")
    print(f"\npromoted in {fail_over(sentinel_cluster, thaw=True):.2f}s")

    with pytest.raises(HistoryUnrecoverable) as caught:
        await retry(lambda: layer.group_history(GROUP, seen))
    assert (caught.value.reason, caught.value.position) == ("epoch", None)
    fresh = await retry(lambda: send(layer, "after"))
    assert fresh.epoch != seen.epoch and fresh.offset == 1
    with pytest.raises(HistoryUnrecoverable) as again:
        await layer.group_history(GROUP, seen)
    assert (again.value.reason, again.value.position) == ("epoch", fresh)


async def test_a_replica_that_missed_the_last_writes_gets_a_new_epoch_at_the_next_write(
    sentinel_cluster: SentinelCluster, layer: RedisChannelLayer
) -> None:
    kept = await send(layer, "one", "two")
    replicated(sentinel_cluster)
    cut_off_replica(sentinel_cluster)
    seen = await send(layer, "lost three", "lost four")
    print(f"\npromoted in {fail_over(sentinel_cluster, thaw=True):.2f}s")

    # The promoted replica's history ends at "two", still in the old epoch: the
    # client's position is past it.
    with pytest.raises(HistoryUnrecoverable) as caught:
        await retry(lambda: layer.group_history(GROUP, seen))
    assert (caught.value.reason, caught.value.position) == ("ahead", kept)
    assert texts((await layer.group_history(GROUP)).messages) == ["one", "two"]
    # This process has seen offset 4 in that epoch, so its next write starts a new
    # epoch rather than give offsets 3 and 4 to other messages.
    after = await send(layer, "new three")
    assert after.epoch != seen.epoch and after.offset == 1
    with pytest.raises(HistoryUnrecoverable) as again:
        await layer.group_history(GROUP, seen)
    assert (again.value.reason, again.value.position) == ("epoch", after)
    with pytest.raises(HistoryUnrecoverable) as older:
        await layer.group_history(GROUP, kept)
    assert older.value.reason == "epoch"


async def test_a_process_that_never_saw_the_lost_writes_reuses_their_offsets(
    sentinel_cluster: SentinelCluster, layer: RedisChannelLayer
) -> None:
    await send(layer, "one", "two")
    replicated(sentinel_cluster)
    cut_off_replica(sentinel_cluster)
    seen = await send(layer, "lost three", "lost four")
    print(f"\npromoted in {fail_over(sentinel_cluster, thaw=True):.2f}s")

    # A fresh process (a worker started after the failover) writes first: it has
    # no newer position to compare with, so the lost offsets are issued again, and
    # a client still at the lost position resumes past messages it never saw.
    # This is the limit the guide documents.
    async with RedisChannelLayer(
        sentinels=sentinel_cluster.sentinels,
        service_name=sentinel_cluster.service_name,
        group_history={"room-*": (100, 300)},
    ) as fresh:
        again = await retry(lambda: send(fresh, "new three", "new four"))
    assert again == seen
    assert (await retry(lambda: layer.group_history(GROUP, seen))).messages == []
