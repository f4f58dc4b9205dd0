"""RedisPubSubChannelLayer vs bare redis-py PUBLISH/SUBSCRIBE, same run, same Redis.

Run from the repository root (``sandbox`` must be importable):

    uv run python -m bench.redis_pubsub [--rounds 2000] [--messages 20000]
        [--members 1000] [--broadcasts 50] [--repeat 3]

Uses ``$REDIS_URL`` if set, else starts a private redis-server on a free port.
Both sides encode with msgpack, so the comparison is the layer's own overhead.

* ``ping-pong``: one process, two endpoints bouncing a message; round-trip latency p50.
  bare: one ``PubSub`` on both channels, the reader task answers pings and
  resolves the waiting future for pongs. ours: a pong task doing
  ``receive(b)`` then ``send(a)``.
* ``p2p``: 4 sender tasks publish ``--messages`` to one channel, one receiver
  consumes them; messages/s. bare: a ``PubSub`` reader decoding each message.
* ``group``: ``--members`` receivers in one process, ``--broadcasts`` group
  sends; deliveries/s. bare: one ``PubSub`` reader that decodes each message
  once and puts it on every member's ``asyncio.Queue``. ours: every member
  ``receive()``s (and decodes) its own copy.

Each scenario runs bare then ours, ``--repeat`` times; the best run of each
side is reported with the ours/bare ratio and the issue's target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import redis.asyncio as aioredis
from fast_channels.layers.redis import RedisPubSubChannelLayer

from sandbox.redis_process import RedisProcess

MESSAGE = {"type": "chat.message", "text": "hello, world", "user": "alice", "n": 0}
SENDERS = 4


def unique(name: str) -> str:
    return f"bench{uuid.uuid4().hex[:8]}:{name}"


# ------------------------------------------------------------------------- ping-pong


async def bare_ping_pong(url: str, rounds: int) -> list[float]:
    client = aioredis.Redis.from_url(url)
    ping, pong = unique("ping").encode(), unique("pong").encode()
    pubsub = client.pubsub()
    await pubsub.subscribe(ping, pong)
    waiting: list[asyncio.Future[dict[str, Any]]] = []

    async def reader() -> None:
        async for item in pubsub.listen():
            if item["type"] != "message":
                continue
            if item["channel"] == ping:
                await client.publish(pong, item["data"])
            else:
                waiting.pop().set_result(msgpack.unpackb(item["data"]))

    task = asyncio.create_task(reader())
    latencies = []
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        waiting.append(future)
        started = time.perf_counter()
        await client.publish(ping, msgpack.packb(MESSAGE))
        await future
        latencies.append(time.perf_counter() - started)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await pubsub.aclose()
    await client.aclose()
    return latencies


async def ours_ping_pong(url: str, rounds: int) -> list[float]:
    async with RedisPubSubChannelLayer(hosts=[url], prefix=unique("l")) as layer:
        ping, pong = await layer.new_channel(), await layer.new_channel()

        async def ponger() -> None:
            while True:
                await layer.send(pong, await layer.receive(ping))

        task = asyncio.create_task(ponger())
        latencies = []
        for _ in range(rounds):
            started = time.perf_counter()
            await layer.send(ping, MESSAGE)
            await layer.receive(pong)
            latencies.append(time.perf_counter() - started)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return latencies


# ------------------------------------------------------------------------------- p2p


async def bare_p2p(url: str, messages: int) -> float:
    client = aioredis.Redis.from_url(url)
    channel = unique("p2p")
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation

    async def receiver() -> None:
        count = 0
        async for item in pubsub.listen():
            if item["type"] == "message":
                msgpack.unpackb(item["data"])
                count += 1
                if count == messages:
                    return

    async def sender(n: int) -> None:
        for _ in range(n):
            await client.publish(channel, msgpack.packb(MESSAGE))

    elapsed = await _timed(receiver(), [sender(messages // SENDERS) for _ in range(SENDERS)])
    await pubsub.aclose()
    await client.aclose()
    return messages / elapsed


async def ours_p2p(url: str, messages: int) -> float:
    layer = RedisPubSubChannelLayer(hosts=[url], prefix=unique("l"), capacity=messages)
    async with layer:
        channel = await layer.new_channel()

        async def receiver() -> None:
            for _ in range(messages):
                await layer.receive(channel)

        async def sender(n: int) -> None:
            for _ in range(n):
                await layer.send(channel, MESSAGE)

        elapsed = await _timed(receiver(), [sender(messages // SENDERS) for _ in range(SENDERS)])
        _check_no_drops(layer)
    return messages / elapsed


# ----------------------------------------------------------------------------- group


async def bare_group(url: str, members: int, broadcasts: int) -> float:
    client = aioredis.Redis.from_url(url)
    group = unique("group")
    pubsub = client.pubsub()
    await pubsub.subscribe(group)
    await pubsub.get_message(timeout=1)
    queues: list[asyncio.Queue[dict[str, Any]]] = [asyncio.Queue() for _ in range(members)]

    async def reader() -> None:
        async for item in pubsub.listen():
            if item["type"] == "message":
                message = msgpack.unpackb(item["data"])
                for queue in queues:
                    queue.put_nowait(message)

    async def member(queue: asyncio.Queue[dict[str, Any]]) -> None:
        for _ in range(broadcasts):
            await queue.get()

    async def sender() -> None:
        for _ in range(broadcasts):
            await client.publish(group, msgpack.packb(MESSAGE))

    task = asyncio.create_task(reader())
    elapsed = await _timed(asyncio.gather(*(member(q) for q in queues)), [sender()])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await pubsub.aclose()
    await client.aclose()
    return members * broadcasts / elapsed


async def ours_group(url: str, members: int, broadcasts: int) -> float:
    layer = RedisPubSubChannelLayer(hosts=[url], prefix=unique("l"), capacity=broadcasts)
    async with layer:
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add("room", channel)

        async def member(channel: str) -> None:
            for _ in range(broadcasts):
                await layer.receive(channel)

        async def sender() -> None:
            for _ in range(broadcasts):
                await layer.group_send("room", MESSAGE)

        elapsed = await _timed(asyncio.gather(*(member(c) for c in channels)), [sender()])
        _check_no_drops(layer)
    return members * broadcasts / elapsed


# --------------------------------------------------------------------------- helpers


async def _timed(done: Awaitable[Any], senders: list[Awaitable[None]]) -> float:
    """Seconds from starting the senders until ``done`` completes (receivers start first)."""
    waiting = asyncio.ensure_future(done)
    await asyncio.sleep(0.05)  # every receiver is parked before the first send
    started = time.perf_counter()
    await asyncio.gather(*senders)
    await waiting
    return time.perf_counter() - started


def _check_no_drops(layer: RedisPubSubChannelLayer) -> None:
    if layer.dropped_messages:
        print(f"  WARNING: the layer dropped {layer.dropped_messages} messages")


async def best_of(repeat: int, run: Callable[[], Awaitable[float]], higher: bool) -> float:
    results = [await run() for _ in range(repeat)]
    return max(results) if higher else min(results)


def report(name: str, bare: float, ours: float, unit: str, target: str, ok: bool) -> None:
    ratio = ours / bare
    verdict = "ok" if ok else "MISSED"
    print(
        f"{name:<24} bare {bare:>12,.1f} {unit:<14} ours {ours:>12,.1f} {unit:<14} "
        f"ratio {ratio:5.2f}x  (target {target}: {verdict})"
    )


async def main(args: argparse.Namespace, url: str) -> None:
    print(f"Redis: {url}   python {sys.version.split()[0]}   repeat {args.repeat} (best run)")

    async def p50(run: Callable[[str, int], Awaitable[list[float]]]) -> float:
        await run(url, 200)  # warm up connections and code paths
        return statistics.median(await run(url, args.rounds)) * 1e6

    bare_lat = await best_of(args.repeat, lambda: p50(bare_ping_pong), higher=False)
    ours_lat = await best_of(args.repeat, lambda: p50(ours_ping_pong), higher=False)
    report("ping-pong p50", bare_lat, ours_lat, "us", "<= 1.10x", ours_lat <= 1.1 * bare_lat)

    bare_tp = await best_of(args.repeat, lambda: bare_p2p(url, args.messages), higher=True)
    ours_tp = await best_of(args.repeat, lambda: ours_p2p(url, args.messages), higher=True)
    report("p2p throughput", bare_tp, ours_tp, "msg/s", ">= 0.90x", ours_tp >= 0.9 * bare_tp)

    members, broadcasts = args.members, args.broadcasts
    bare_g = await best_of(args.repeat, lambda: bare_group(url, members, broadcasts), True)
    ours_g = await best_of(args.repeat, lambda: ours_group(url, members, broadcasts), True)
    name = f"group_send x{members}"
    report(name, bare_g, ours_g, "deliveries/s", ">= 0.70x", ours_g >= 0.7 * bare_g)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--broadcasts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if url:
        asyncio.run(main(args, url))
        return
    with RedisProcess() as server:
        asyncio.run(main(args, server.url))


if __name__ == "__main__":
    cli()
