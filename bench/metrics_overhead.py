"""What counting costs: the same work with metrics on and off, in the same run.

Run from the repository root (``sandbox`` must be importable):

    uv run python -m bench.metrics_overhead [--rounds 15] [--members 500] [--broadcasts 100]
        [--sizes 200] [--messages 200] [--ws-rounds 4] [--scenarios memory,redis,ws]

Scenarios, each measured with counting on (the default) and off
(``fast_channels.metrics.set_enabled(False)`` / ``FAST_CHANNELS_METRICS=0``),
interleaved on/off/on/off so drift in machine load hits both sides alike:

* ``memory``: ``InMemoryChannelLayer``, ``--members`` local channels in one
  group, ``group_send`` then every member ``receive()``s; CPU per delivery.
* ``queue`` / ``pubsub``: the same against a private redis-server (or
  ``$REDIS_URL``) with ``RedisChannelLayer`` and ``RedisPubSubChannelLayer``;
  CPU of this process per delivery (Redis's own CPU is not ours).
* ``ws-fanout``: ``bench/ws_fanout.py``'s "ours" scenario (uvicorn subprocess,
  real ``websockets`` clients, our consumer + in-memory layer), server CPU per
  delivery, the server started with ``FAST_CHANNELS_METRICS=0`` for "off".

Printed: the median over rounds of CPU microseconds per delivery, on and off,
and their ratio (target: at most 1.03). See bench/README.md.
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

from fast_channels import metrics
from fast_channels.layers import BaseChannelLayer, InMemoryChannelLayer

MESSAGE = {"type": "chat.message", "text": "hello, world", "user": "alice", "n": 0}
TARGET = 1.03

Build = Callable[[], BaseChannelLayer]


async def group_round(build: Build, members: int, broadcasts: int) -> float:
    """CPU seconds per delivery of ``broadcasts`` group sends to ``members`` receivers."""
    layer = build()
    try:
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add("bench", channel)

        async def member(channel: str) -> None:
            for _ in range(broadcasts):
                await layer.receive(channel)

        await layer.group_send("bench", MESSAGE)  # warm-up: connections, scripts, subscribers
        await asyncio.gather(*(layer.receive(c) for c in channels))
        tasks = [asyncio.ensure_future(member(c)) for c in channels]
        await asyncio.sleep(0)
        start = time.process_time()
        for _ in range(broadcasts):
            await layer.group_send("bench", MESSAGE)
        await asyncio.gather(*tasks)
        return (time.process_time() - start) / (members * broadcasts)
    finally:
        await layer.close()


def built_with(enabled: bool, build: Build) -> Build:
    def make() -> BaseChannelLayer:
        metrics.set_enabled(enabled)
        try:
            return build()
        finally:
            metrics.set_enabled(True)

    return make


async def compare(
    name: str, rounds: int, measure: Callable[[bool], Awaitable[float]]
) -> tuple[str, list[float], list[float]]:
    on: list[float] = []
    off: list[float] = []
    for i in range(rounds):
        order = (True, False) if i % 2 == 0 else (False, True)
        for enabled in order:
            (on if enabled else off).append(await measure(enabled))
        print(f"... {name} round {i + 1}/{rounds}", file=sys.stderr, flush=True)
    return name, on, off


async def ws_fanout(enabled: bool, n: int, messages: int) -> float:
    sys.path.insert(0, os.path.dirname(__file__))
    import ws_fanout as fanout

    args = argparse.Namespace(
        messages=messages,
        window=4,
        load_procs=2,
        compression="none",
        profile=None,
        redis_url=None,
    )
    saved = os.environ.get("FAST_CHANNELS_METRICS")
    os.environ["FAST_CHANNELS_METRICS"] = "1" if enabled else "0"  # the server inherits it
    try:
        result = await fanout.run_one("ours", n, args)
    finally:
        if saved is None:
            os.environ.pop("FAST_CHANNELS_METRICS", None)
        else:
            os.environ["FAST_CHANNELS_METRICS"] = saved
    if result.dropped:
        raise RuntimeError(f"the fan-out dropped {result.dropped} messages")
    return result.cpu / result.deliveries


async def drive(args: argparse.Namespace) -> None:
    results = []
    if "memory" in args.scenarios:
        results.append(
            await compare(
                "memory",
                args.rounds,
                lambda on: group_round(
                    built_with(on, lambda: InMemoryChannelLayer(capacity=100_000)),
                    args.members,
                    args.broadcasts,
                ),
            )
        )
    if "redis" in args.scenarios:
        results += await redis_scenarios(args)
    if "ws" in args.scenarios:
        for n in [int(s) for s in args.sizes.split(",")]:
            results.append(
                await compare(
                    f"ws-fanout N={n}",
                    args.ws_rounds,
                    lambda on, n=n: ws_fanout(on, n, args.messages),
                )
            )
    print(f"{'scenario':>16} {'on us/dlv':>10} {'off us/dlv':>10} {'on/off':>7} {'best':>7}")
    for name, on, off in results:
        print(
            f"{name:>16} {statistics.median(on) * 1e6:>10.3f} "
            f"{statistics.median(off) * 1e6:>10.3f} "
            f"{statistics.median(on) / statistics.median(off):>7.3f} {min(on) / min(off):>7.3f}"
        )
    print(
        "on/off: ratio of the medians over interleaved rounds; best: of the fastest round "
        f"of each side (least disturbed by other load). Target: at most {TARGET}."
    )


async def redis_scenarios(args: argparse.Namespace) -> list[tuple[str, list[float], list[float]]]:
    from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    from sandbox.redis_process import RedisProcess

    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        server = RedisProcess().start()
        url = server.url
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        builds: list[tuple[str, Any]] = [
            ("queue", lambda: RedisChannelLayer(hosts=[url], prefix=prefix, capacity=100_000)),
            (
                "pubsub",
                lambda: RedisPubSubChannelLayer(hosts=[url], prefix=prefix, capacity=10_000),
            ),
        ]
        found = []
        for name, build in builds:
            found.append(
                await compare(
                    name,
                    args.rounds,
                    lambda on, b=build: group_round(
                        built_with(on, b), args.members, args.broadcasts
                    ),
                )
            )
        return found
    finally:
        if server is not None:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the in-process ones")
    parser.add_argument("--ws-rounds", type=int, default=4, help="rounds of ws-fanout")
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--broadcasts", type=int, default=100)
    parser.add_argument("--sizes", default="200", help="WebSocket clients for ws-fanout")
    parser.add_argument("--messages", type=int, default=200, help="ws-fanout broadcasts")
    parser.add_argument("--scenarios", default="memory,redis,ws")
    args = parser.parse_args()
    asyncio.run(drive(args))


if __name__ == "__main__":
    main()
