"""Sentinel discovery when the first sentinel is hung (SIGSTOP): both layers.

A stopped sentinel accepts TCP connections (the kernel completes the
handshake) but never answers, which is what a blackholed or overloaded
sentinel looks like to a client. Discovery must give up on it within the
per-sentinel timeout, ask the next sentinel, and prefer the one that answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.base import BaseChannelLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from .conftest import SentinelCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]

#: Correctness bound only: the documented one is about 1 s per hung sentinel plus a
#: reconnect; the shared 2-core machine gets generous room on top.
WORKS_AGAIN_WITHIN = 20.0


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def round_trip(layer: BaseChannelLayer, channel: str, n: int) -> None:
    await layer.send(channel, {"type": "probe", "n": n})
    got = await asyncio.wait_for(layer.receive(channel), 10)
    assert got == {"type": "probe", "n": n}


async def first_success(call: Callable[[], Awaitable[Any]], within: float) -> Any:
    """Retry ``call`` (on connection errors) until it succeeds; fail after ``within`` s."""
    deadline = time.monotonic() + within
    errors: list[str] = []
    while True:
        try:
            return await asyncio.wait_for(call(), within)
        except (ChannelLayerConnectionError, TimeoutError) as exc:
            errors.append(repr(exc))
            if time.monotonic() > deadline:
                raise AssertionError(f"no success within {within}s: {errors[-3:]}") from exc
            await asyncio.sleep(0.1)


def make_layer(kind: str, cluster: SentinelCluster) -> BaseChannelLayer:
    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    return cls(sentinels=cluster.sentinels, service_name=cluster.service_name)


@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_a_hung_first_sentinel_is_skipped_and_the_next_preferred(
    sentinel_cluster: SentinelCluster, kind: str
) -> None:
    first = sentinel_cluster.sentinel_processes[0].proc
    assert first is not None
    with frozen(first.pid):
        layer = make_layer(kind, sentinel_cluster)
        async with layer:
            started = time.monotonic()
            channel = await first_success(layer.new_channel, WORKS_AGAIN_WITHIN)
            await first_success(lambda: round_trip(layer, channel, 0), WORKS_AGAIN_WITHIN)
            print(f"\n{kind}: first round trip {time.monotonic() - started:.2f}s after start")
            # The sentinel that answered is asked first from now on: no call fails.
            for n in range(1, 6):
                await round_trip(layer, channel, n)


@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_reconnects_rediscover_past_a_hung_first_sentinel(
    sentinel_cluster: SentinelCluster, kind: str
) -> None:
    """A working layer loses its connections while the first sentinel hangs."""
    first = sentinel_cluster.sentinel_processes[0].proc
    assert first is not None
    async with make_layer(kind, sentinel_cluster) as layer:
        channel = await layer.new_channel()
        await round_trip(layer, channel, 0)
        with frozen(first.pid):
            # Every client of the master is cut off, so every connection must be
            # rebuilt, and each rebuild asks the sentinels where the master is.
            with redis.Redis(port=sentinel_cluster.master.port) as admin:
                admin.client_kill_filter(_type="normal", skipme=True)
                admin.client_kill_filter(_type="pubsub", skipme=True)
            await first_success(lambda: round_trip(layer, channel, 1), WORKS_AGAIN_WITHIN)
            for n in range(2, 7):
                await round_trip(layer, channel, n)
