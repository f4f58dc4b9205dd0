"""Both Redis layers on a 3-master Redis Cluster vs the same layers on one server, same run.

Run from the repository root:

    uv run python -m bench.redis_cluster [--messages 10000] [--pings 1000]
        [--members 1000] [--broadcasts 30] [--repeat 3]

Starts a private Redis Cluster of three masters (``--replicas 1`` adds a replica
to each; by default none, so neither side pays for replication; see
``tests/integration/redis/cluster_fixture.py``) and a single redis-server of
the same binary (Redis >= 7), both on loopback. For each layer (``queue`` =
``RedisChannelLayer``, ``pubsub`` = ``RedisPubSubChannelLayer``):

* ``p2p``: one sender awaiting each ``send``, one receiver awaiting each
  ``receive`` on a ``new_channel()``; messages/s.
* ``latency``: one message in flight, p50 of send-to-receive in us.
* ``group``: ``--members`` process-local members of one group, ``--broadcasts``
  ``group_send``s, every member receives each; deliveries/s.
* ``group named`` (queue only): the same with named channels as members, so
  their queues spread over every slot (the cluster's worst case: one script
  per slot, all of a node's in one write).

Each side runs ``--repeat`` times, taking turns; the best is reported with the cost ratio
cluster/single (for throughput: single/cluster, so above 1 means the cluster
costs more per message) and this process's CPU per unit. Target: at most 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from tests.integration.redis.cluster_fixture import find_binaries, start_cluster

MESSAGE = {"type": "chat.message", "text": "hello, world: " + "x" * 40, "user": "alice", "n": 0}
Layer = RedisChannelLayer | RedisPubSubChannelLayer
Make = Callable[..., Layer]


async def p2p(make: Make, count: int) -> float:
    async with make(capacity=count) as layer:
        channel = await layer.new_channel()
        await layer.send(channel, MESSAGE)  # connect, load scripts and the slot table
        await layer.receive(channel)

        async def sender() -> None:
            for i in range(count):
                await layer.send(channel, {**MESSAGE, "n": i})

        async def receiver() -> None:
            for _ in range(count):
                await layer.receive(channel)

        start = time.perf_counter()
        await asyncio.gather(sender(), receiver())
        return count / (time.perf_counter() - start)


async def latency(make: Make, pings: int) -> float:
    async with make(capacity=100) as layer:
        channel = await layer.new_channel()
        samples = []
        for _ in range(pings):
            pending = asyncio.ensure_future(layer.receive(channel))
            await asyncio.sleep(0)
            start = time.perf_counter()
            await layer.send(channel, MESSAGE)
            await pending
            samples.append(time.perf_counter() - start)
        return statistics.median(samples[10:]) * 1e6


async def group(make: Make, members: int, broadcasts: int, named: bool = False) -> float:
    async with make(capacity=broadcasts + 10) as layer:
        group_name = f"bench{uuid.uuid4().hex[:6]}"
        channels = [f"named.{i}" if named else await layer.new_channel() for i in range(members)]
        for channel in channels:
            await layer.group_add(group_name, channel)
        await layer.group_send(group_name, MESSAGE)  # warm up: scripts, slot table
        for channel in channels:
            await layer.receive(channel)
        done = asyncio.Event()
        remaining = members * broadcasts

        async def member(channel: str) -> None:
            nonlocal remaining
            for _ in range(broadcasts):
                await layer.receive(channel)
                remaining -= 1
                if not remaining:
                    done.set()

        tasks = [asyncio.create_task(member(c)) for c in channels]
        await asyncio.sleep(0.2)  # every member waits (pub/sub stores nothing)
        start = time.perf_counter()
        for _ in range(broadcasts):
            await layer.group_send(group_name, MESSAGE)
        await done.wait()
        elapsed = time.perf_counter() - start
        await asyncio.gather(*tasks)
        if layer.dropped_messages:
            raise RuntimeError(f"{layer.dropped_messages} messages dropped: raise capacity")
        await layer.flush()
        return members * broadcasts / elapsed


async def best_of_alternating(
    runs: int,
    sides: tuple[Callable[[], Awaitable[float]], Callable[[], Awaitable[float]]],
    higher_is_better: bool,
    units: int,
) -> list[tuple[float, float]]:
    """Per side, the best result of ``runs`` and the least CPU microseconds per unit.

    The sides take turns (single, cluster, single, ...), so a neighbour's load on
    a shared machine weighs on both alike.
    """
    results: list[list[float]] = [[], []]
    cpu: list[list[float]] = [[], []]
    for _ in range(runs):
        for side, make in enumerate(sides):
            start = time.process_time()
            results[side].append(await make())
            cpu[side].append((time.process_time() - start) / units * 1e6)
    pick = max if higher_is_better else min
    return [(pick(results[side]), min(cpu[side])) for side in (0, 1)]


def factory(cls: type[Layer], **where: Any) -> Make:
    def make(**kwargs: Any) -> Layer:
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        if cls is RedisPubSubChannelLayer:
            kwargs.pop("expiry", None)
        return cls(prefix=prefix, **where, **kwargs)

    return make


Scenario = tuple[str, str, bool, Callable[..., Awaitable[float]], tuple[Any, ...], int]


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    """(name, unit, higher is better, function, its arguments after make, units)."""
    m, p, n, b = args.messages, args.pings, args.members, args.broadcasts
    found: list[Scenario] = []
    for kind in ("queue", "pubsub"):
        found += [
            (f"{kind} p2p", "msg/s", True, p2p, (m,), m),
            (f"{kind} latency p50", "us", False, latency, (p,), p),
            (f"{kind} group x{n}", "deliv/s", True, group, (n, b), n * b),
        ]
        if kind == "queue":
            found.append((f"{kind} group x{n} named", "deliv/s", True, group, (n, b, True), n * b))
    return found


async def main(single_url: str, seeds: list[str], args: argparse.Namespace) -> None:
    print(
        f"{'scenario':<26}{'unit':>8}{'single':>10}{'cluster':>10}{'cost x':>8}"
        f"{'cpu us single':>15}{'cluster':>9}{'cpu x':>7}"
    )
    for name, unit, higher, run, params, units in scenarios(args):
        cls = RedisChannelLayer if name.startswith("queue") else RedisPubSubChannelLayer
        single_make = factory(cls, hosts=[single_url])
        cluster_make = factory(cls, cluster_nodes=seeds)
        sides = (
            functools.partial(run, single_make, *params),
            functools.partial(run, cluster_make, *params),
        )
        (single, single_cpu), (cluster, cluster_cpu) = await best_of_alternating(
            args.repeat, sides, higher, units
        )
        cost = single / cluster if higher else cluster / single
        print(
            f"{name:<26}{unit:>8}{single:>10.0f}{cluster:>10.0f}{cost:>8.2f}"
            f"{single_cpu:>15.1f}{cluster_cpu:>9.1f}{cluster_cpu / single_cpu:>7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--pings", type=int, default=1_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--broadcasts", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="replicas per master (default 0: like the single server, nobody to replicate to)",
    )
    arguments = parser.parse_args()
    server, _ = find_binaries()
    os.environ["REDIS_SERVER"] = server  # the single node runs the cluster's binary too
    from sandbox.redis_process import RedisProcess

    cluster = start_cluster(replicas=arguments.replicas)
    try:
        with RedisProcess() as single_server:
            asyncio.run(main(single_server.url, cluster.seeds, arguments))
    finally:
        cluster.stop()
