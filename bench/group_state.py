"""Presence and resumable groups: what history, presence queries and recovery cost.

Run from the repository root (``sandbox`` must be importable):

    uv run python -m bench.group_state [--members 100] [--broadcasts 200]
        [--presences 1000] [--processes 4] [--queries 200] [--missed 1000] [--repeat 3]
        [--parts history,presence,recovery]

Uses ``$REDIS_URL`` if set, else starts a private redis-server on a free port.
Every ratio is against a baseline measured in the same run, on the same Redis:

* ``history``: ``group_send`` to ``--members`` receivers in this process,
  ``--broadcasts`` times, to a group that keeps history versus one that does not,
  on the same layer (queue, then pub/sub). CPU of this process and wall time per
  delivery; the issue's target is at most 1.3x.
* ``presence``: ``--presences`` members present in one group, spread over
  ``--processes`` child processes (each a layer of its own, heartbeat running),
  then ``presence(group)`` ``--queries`` times from this process. Time per query,
  and round trips per query: top-level calls of the command used (``EVALSHA``/``EVAL``
  for ours, ``HGETALL`` for bare) from the server's ``INFO commandstats``, which also
  counts the children's heartbeat scripts (one per process every 2 s: a few in all);
  baseline: a bare ``HGETALL`` of the same hash.
* ``recovery``: ``--missed`` messages sent to a history group, then
  ``group_history(group, since)`` for all of them. Baseline: a bare ``XRANGE`` of
  the same stream with msgpack decoding each entry.

Each measurement is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid

import msgpack
import redis.asyncio as aioredis
from fast_channels.layers.base import BaseChannelLayer
from fast_channels.layers.history import Position
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.layers.redis._group_state.scripts import group_keys

from sandbox.redis_process import RedisProcess

MESSAGE = {"type": "chat.message", "text": "hello, world", "user": "alice", "n": 0}
LAYERS: dict[str, type[RedisChannelLayer] | type[RedisPubSubChannelLayer]] = {
    "queue": RedisChannelLayer,
    "pubsub": RedisPubSubChannelLayer,
}


def unique(name: str) -> str:
    return f"bench{uuid.uuid4().hex[:8]}{name}"


def make_layer(kind: str, url: str, prefix: str, size: int = 1000) -> BaseChannelLayer:
    layer: BaseChannelLayer = LAYERS[kind](
        hosts=[url], prefix=prefix, capacity=10_000, group_history={"h-*": (size, 600)}
    )
    return layer


def measured(started: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - started[0], time.process_time() - started[1]


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


# --------------------------------------------------------------------------- history


async def fan_out(
    kind: str, url: str, group: str, members: int, broadcasts: int
) -> tuple[float, float]:
    """(wall, cpu) seconds per delivery of ``broadcasts`` group_sends to ``members``."""
    async with make_layer(kind, url, unique("f")) as layer:
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add(group, channel)

        async def member(channel: str) -> None:
            for _ in range(broadcasts):
                await layer.receive(channel)

        receivers = asyncio.gather(*(member(c) for c in channels))
        await asyncio.sleep(0.05)  # every receive() waiting (pub/sub: subscribed)
        started = clock()
        for _ in range(broadcasts):
            await layer.group_send(group, MESSAGE)
        await asyncio.wait_for(receivers, 60)
        wall, cpu = measured(started)
        await layer.flush()
    deliveries = members * broadcasts
    return wall / deliveries, cpu / deliveries


async def bench_history(args: argparse.Namespace, url: str) -> None:
    print(f"\nhistory: group_send to {args.members} members x {args.broadcasts}, per delivery")
    print(
        f"{'layer':8} {'group':10} {'wall us':>9} {'cpu us':>8} {'wall x':>7} {'cpu x':>7}  target"
    )
    for kind in LAYERS:
        # Alternated, so both sides see the same load on a shared machine.
        runs: dict[str, list[tuple[float, float]]] = {"p-room": [], "h-room": []}
        for _ in range(args.repeat):
            for group in runs:  # "h-*" keeps history, "p-*" does not
                runs[group].append(await fan_out(kind, url, group, args.members, args.broadcasts))
        plain, kept = (min(runs[g], key=lambda r: r[1]) for g in ("p-room", "h-room"))
        print(f"{kind:8} {'plain':10} {plain[0] * 1e6:9.2f} {plain[1] * 1e6:8.2f}")
        ok = "ok" if kept[1] / plain[1] <= 1.3 else "OVER"
        print(
            f"{kind:8} {'history':10} {kept[0] * 1e6:9.2f} {kept[1] * 1e6:8.2f} "
            f"{kept[0] / plain[0]:7.2f} {kept[1] / plain[1]:7.2f}  <= 1.3x {ok}"
        )


# -------------------------------------------------------------------------- presence

CHILD = """
import asyncio, sys
from bench.group_state import make_layer
async def main(kind, url, prefix, group, first, count):
    async with make_layer(kind, url, prefix) as layer:
        for i in range(first, first + count):
            channel = await layer.new_channel()
            await layer.presence_add(group, channel, {"user": f"user-{i}", "n": i})
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
kind, url, prefix, group, first, count = sys.argv[1:]
asyncio.run(main(kind, url, prefix, group, int(first), int(count)))
"""


async def calls(client: aioredis.Redis, *commands: str) -> int:
    """How many times the server ran ``commands`` so far (``INFO commandstats``)."""
    info = await client.info("commandstats")
    return sum(int(info.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in commands)


async def our_presence(
    client: aioredis.Redis, layer: BaseChannelLayer, group: str, queries: int
) -> tuple[float, float]:
    """(seconds, round trips) per ``presence(group)``."""
    before = await calls(client, "evalsha", "eval")
    started = time.perf_counter()
    for _ in range(queries):
        await layer.presence(group)  # type: ignore[attr-defined]
    wall = time.perf_counter() - started
    return wall / queries, (await calls(client, "evalsha", "eval") - before) / queries


async def bare_presence(client: aioredis.Redis, key: str, queries: int) -> tuple[float, float]:
    """(seconds, round trips) per bare ``HGETALL`` of the presence hash."""
    before = await calls(client, "hgetall")
    started = time.perf_counter()
    for _ in range(queries):
        await client.hgetall(key)
    wall = time.perf_counter() - started
    return wall / queries, (await calls(client, "hgetall") - before) / queries


async def bench_presence(args: argparse.Namespace, url: str) -> None:
    total, procs, queries = args.presences, args.processes, args.queries
    print(f"\npresence: {total} members over {procs} processes, {queries} queries")
    print(f"{'layer':8} {'who':6} {'ms/query':>9} {'trips/query':>11} {'members':>8} {'x bare':>7}")
    client = aioredis.Redis.from_url(url)
    for kind in LAYERS:
        prefix, group = unique("p"), "lobby"
        per = total // procs
        children = [
            subprocess.Popen(  # noqa: ASYNC220  # started before anything is timed
                [sys.executable, "-c", CHILD, kind, url, prefix, group, str(i * per), str(per)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(procs)
        ]
        try:
            for child in children:
                assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            async with make_layer(kind, url, prefix) as layer:
                found = len(await layer.presence(group))  # type: ignore[attr-defined]
                key = group_keys(prefix, group).presence

                bases, mines = [], []
                for _ in range(args.repeat):  # alternated, as above
                    bases.append(await bare_presence(client, key, queries))
                    mines.append(await our_presence(client, layer, group, queries))
                base, mine = min(bases), min(mines)
            print(f"{kind:8} {'bare':6} {base[0] * 1e3:9.3f} {base[1]:11.2f} {found:8}")
            print(
                f"{kind:8} {'ours':6} {mine[0] * 1e3:9.3f} {mine[1]:11.2f} {found:8} "
                f"{mine[0] / base[0]:7.2f}"
            )
        finally:
            for child in children:
                if child.stdin is not None:
                    child.stdin.close()
                child.wait(timeout=20)
    await client.aclose()


# -------------------------------------------------------------------------- recovery


async def our_recovery(layer: BaseChannelLayer, group: str, since: Position, missed: int) -> float:
    started = time.perf_counter()
    got = await layer.group_history(group, since)  # type: ignore[attr-defined]
    assert len(got.messages) == missed and got.messages[-1]["n"] == missed - 1
    return time.perf_counter() - started


async def bare_recovery(client: aioredis.Redis, stream: str, missed: int) -> float:
    started = time.perf_counter()
    rows = await client.xrange(stream, "-", "+")
    decoded = [msgpack.unpackb(fields[b"m"]) for _, fields in rows]
    assert len(decoded) == missed
    return time.perf_counter() - started


async def bench_recovery(args: argparse.Namespace, url: str) -> None:
    missed = args.missed
    print(f"\nrecovery: group_history() of {missed} missed messages")
    print(f"{'layer':8} {'who':6} {'ms':>8} {'x bare':>7}")
    client = aioredis.Redis.from_url(url)
    for kind in LAYERS:
        prefix, group = unique("r"), "h-room"
        async with make_layer(kind, url, prefix, size=missed) as layer:
            for n in range(missed):
                await layer.group_send(group, {**MESSAGE, "n": n})
            head = (await layer.group_history(group)).position  # type: ignore[attr-defined]
            assert head is not None and head.offset == missed
            since = Position(head.epoch, 0)

            stream = group_keys(prefix, group).stream
            bases, mines = [], []
            for _ in range(args.repeat):  # alternated, as above
                bases.append(await bare_recovery(client, stream, missed))
                mines.append(await our_recovery(layer, group, since, missed))
            base, mine = min(bases), min(mines)
            await layer.flush()
        print(f"{kind:8} {'bare':6} {base * 1e3:8.2f}")
        print(f"{kind:8} {'ours':6} {mine * 1e3:8.2f} {mine / base:7.2f}")
    await client.aclose()


async def main(args: argparse.Namespace, url: str) -> None:
    load = os.getloadavg()[0]
    print(
        f"Redis: {url}   python {sys.version.split()[0]}   repeat {args.repeat}   load {load:.1f}"
    )
    parts = {"history": bench_history, "presence": bench_presence, "recovery": bench_recovery}
    for name in args.parts.split(","):
        await parts[name](args, url)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--broadcasts", type=int, default=200)
    parser.add_argument("--presences", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--missed", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parts", default="history,presence,recovery", help="comma-separated")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if url:
        asyncio.run(main(args, url))
        return
    with RedisProcess() as server:
        asyncio.run(main(args, server.url))


if __name__ == "__main__":
    cli()
