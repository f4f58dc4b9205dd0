"""RedisChannelLayer vs bare redis-py lists, same run, same Redis.

Run from the repository root:

    uv run python -m bench.redis_queue [--messages 20000] [--pings 2000]
        [--members 1000] [--broadcasts 50] [--repeat 3]

Uses ``$REDIS_URL`` if set, else starts a private redis-server on a free port.
Both sides encode with msgpack, so the comparison is the layer's own overhead.

* ``p2p``: one sender task awaiting each send, one receiver task awaiting each
  receive, ``--messages`` messages of ~100 bytes; messages/s. bare: LPUSH and
  BRPOP on one list (two connections). ours: ``send``/``receive`` on a
  ``new_channel()`` (what consumers use).
* ``latency``: one message in flight at a time, stamped at send; p50 of
  send-to-receive. Same calls as ``p2p``.
* ``group``: ``--members`` receivers in one process, ``--broadcasts`` group
  sends; deliveries/s. bare: one pipeline of LPUSHes (one per member, to the
  process's list) per broadcast; one reader task BRPOPs + RPOPs batches and
  hands each member its copy on an ``asyncio.Queue``; each member decodes.
  ours: ``group_send`` and every member ``receive()``s.

Each scenario runs bare then ours, ``--repeat`` times; the best run of each
side is reported with the ours/bare ratio and the issue's target.
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

import msgpack
import redis.asyncio as aioredis
from fast_channels.layers.redis import RedisChannelLayer

from sandbox.redis_process import RedisProcess

MESSAGE = {"type": "chat.message", "text": "hello, world: " + "x" * 40, "user": "alice", "n": 0}


def unique(name: str) -> str:
    return f"bench{uuid.uuid4().hex[:8]}:{name}"


def layer(url: str, capacity: int) -> RedisChannelLayer:
    prefix = unique("ours").replace(":", "-")
    return RedisChannelLayer(hosts=[url], prefix=prefix, capacity=capacity)


# ------------------------------------------------------------------------- p2p


async def bare_p2p(url: str, count: int) -> float:
    key = unique("p2p")
    async with aioredis.from_url(url) as client:

        async def sender() -> None:
            for i in range(count):
                await client.lpush(key, msgpack.packb({**MESSAGE, "n": i}))

        async def receiver() -> None:
            for _ in range(count):
                _, data = await client.brpop([key], timeout=5)
                msgpack.unpackb(data)

        start = time.perf_counter()
        await asyncio.gather(sender(), receiver())
        return count / (time.perf_counter() - start)


async def ours_p2p(url: str, count: int) -> float:
    async with layer(url, capacity=count) as ours:
        channel = await ours.new_channel()

        async def sender() -> None:
            for i in range(count):
                await ours.send(channel, {**MESSAGE, "n": i})

        async def receiver() -> None:
            for _ in range(count):
                await ours.receive(channel)

        start = time.perf_counter()
        await asyncio.gather(sender(), receiver())
        return count / (time.perf_counter() - start)


# ------------------------------------------------------------------------- latency


async def bare_latency(url: str, pings: int) -> float:
    key = unique("lat")
    async with aioredis.from_url(url) as client:
        samples = []
        for _ in range(pings):
            pending = asyncio.ensure_future(client.brpop([key], timeout=5))
            await asyncio.sleep(0)  # the BRPOP is on its way, as a waiting consumer's would be
            start = time.perf_counter()
            await client.lpush(key, msgpack.packb(MESSAGE))
            msgpack.unpackb((await pending)[1])
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1e6


async def ours_latency(url: str, pings: int) -> float:
    async with layer(url, capacity=100) as ours:
        channel = await ours.new_channel()
        samples = []
        for _ in range(pings):
            pending = asyncio.ensure_future(ours.receive(channel))
            await asyncio.sleep(0)
            start = time.perf_counter()
            await ours.send(channel, MESSAGE)
            await pending
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1e6


# ------------------------------------------------------------------------- group


async def bare_group(url: str, members: int, broadcasts: int) -> float:
    inbox = unique("inbox")
    async with aioredis.from_url(url) as client:
        queues = [asyncio.Queue[bytes]() for _ in range(members)]
        done = asyncio.Event()
        remaining = members * broadcasts

        async def reader() -> None:
            while True:
                pipe = client.pipeline(transaction=False)
                pipe.brpop([inbox], timeout=5)
                pipe.rpop(inbox, 500)
                popped, more = await pipe.execute()
                for entry in [popped[1], *(more or [])]:
                    member, _, payload = entry.partition(b":")
                    queues[int(member)].put_nowait(payload)

        async def member(queue: asyncio.Queue[bytes]) -> None:
            nonlocal remaining
            for _ in range(broadcasts):
                msgpack.unpackb(await queue.get())
                remaining -= 1
                if not remaining:
                    done.set()

        tasks = [asyncio.create_task(member(q)) for q in queues]
        read = asyncio.create_task(reader())
        start = time.perf_counter()
        for _ in range(broadcasts):
            payload = msgpack.packb(MESSAGE)
            pipe = client.pipeline(transaction=False)
            for i in range(members):
                pipe.lpush(inbox, b"%d:%s" % (i, payload))
            await pipe.execute()
        await done.wait()
        elapsed = time.perf_counter() - start
        read.cancel()
        await asyncio.gather(read, *tasks, return_exceptions=True)
        return members * broadcasts / elapsed


async def ours_group(url: str, members: int, broadcasts: int) -> float:
    async with layer(url, capacity=broadcasts + 10) as ours:
        channels = [await ours.new_channel() for _ in range(members)]
        for channel in channels:
            await ours.group_add("bench", channel)
        done = asyncio.Event()
        remaining = members * broadcasts

        async def member(channel: str) -> None:
            nonlocal remaining
            for _ in range(broadcasts):
                await ours.receive(channel)
                remaining -= 1
                if not remaining:
                    done.set()

        tasks = [asyncio.create_task(member(c)) for c in channels]
        start = time.perf_counter()
        for _ in range(broadcasts):
            await ours.group_send("bench", MESSAGE)
        await done.wait()
        elapsed = time.perf_counter() - start
        await asyncio.gather(*tasks)
        assert ours.dropped_messages == 0
        return members * broadcasts / elapsed


# ------------------------------------------------------------------------- runner


async def best(
    runs: int, make: Callable[[], Awaitable[float]], higher_is_better: bool, units: int
) -> tuple[float, float]:
    """Best result of ``runs``, and the least CPU microseconds (this process) per unit."""
    results, cpu = [], []
    for _ in range(runs):
        start = time.process_time()
        results.append(await make())
        cpu.append((time.process_time() - start) / units * 1e6)
    return (max(results) if higher_is_better else min(results)), min(cpu)


async def main(url: str, args: argparse.Namespace) -> None:
    r = args.repeat
    scenarios = [
        ("p2p", "msg/s", bare_p2p, ours_p2p, (args.messages,), args.messages, True, ">= 0.7x"),
        (
            "latency p50",
            "us",
            bare_latency,
            ours_latency,
            (args.pings,),
            args.pings,
            False,
            "<= 1.5x",
        ),
        (
            f"group x{args.members}",
            "deliv/s",
            bare_group,
            ours_group,
            (args.members, args.broadcasts),
            args.members * args.broadcasts,
            True,
            ">= 0.5x",
        ),
    ]
    print(
        f"{'scenario':<14}{'unit':>8}{'bare':>10}{'ours':>10}{'ours/bare':>10}  {'target':<8}"
        f"{'cpu us/unit bare':>17}{'ours':>7}{'ratio':>7}"
    )
    for name, unit, bare_fn, ours_fn, params, units, higher, target in scenarios:
        bare, bare_cpu = await best(r, functools.partial(bare_fn, url, *params), higher, units)
        ours, ours_cpu = await best(r, functools.partial(ours_fn, url, *params), higher, units)
        print(
            f"{name:<14}{unit:>8}{bare:>10.0f}{ours:>10.0f}{ours / bare:>10.2f}  {target:<8}"
            f"{bare_cpu:>17.1f}{ours_cpu:>7.1f}{ours_cpu / bare_cpu:>7.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--pings", type=int, default=2_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--broadcasts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    if os.environ.get("REDIS_URL"):
        asyncio.run(main(os.environ["REDIS_URL"], arguments))
    else:
        with RedisProcess() as server:
            asyncio.run(main(server.url, arguments))
