"""WebSocket fan-out benchmark: our consumer (in-memory and pub/sub layer) vs a bare loop.

Run from the repository root:
      uv run python -m bench.ws_fanout [--sizes 100,500,1000] [--messages 200]
      uv run python -m bench.ws_fanout --sizes 1000,10000 --messages 20 --repeat 3

For each N and each scenario a fresh uvicorn server runs in a subprocess;
N real ``websockets`` clients (split over ``--load-procs`` processes) connect,
and a trigger connection sends ``--messages`` broadcasts (at most
``--window`` outstanding). Every client receives every broadcast.

* ``ours``: an ``AsyncWebsocketConsumer`` in one group on an
  ``InMemoryChannelLayer``; the trigger's frame makes its consumer ``group_send``.
* ``pubsub``: the same consumer on a ``RedisPubSubChannelLayer`` (``--redis-url``,
  else a private ``redis-server`` the driver starts).
* ``bare``: a Starlette endpoint keeps a set of sockets and loops over them.

Printed per N: deliveries/s, latency p50/p99 (send timestamp in the payload),
server CPU per delivery (user+sys of the server process, psutil) and server
RSS per connection, for each of ``--repeat`` rounds (scenarios interleaved), plus
the ratios to bare of the medians. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

GROUP = "fanout"
WARMUP = 5
#: ours: consumer + InMemoryChannelLayer; pubsub: consumer + RedisPubSubChannelLayer;
#: bare: a Starlette endpoint looping over a set of sockets.
SCENARIOS = ("ours", "pubsub", "bare")


# --------------------------------------------------------------------------- server side


def build_app(scenario: str, redis_url: str | None = None) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    if scenario in ("ours", "pubsub"):
        from fast_channels.consumer.limits import ConnectionLimits
        from fast_channels.consumer.websocket import AsyncWebsocketConsumer
        from fast_channels.layers import InMemoryChannelLayer, register_channel_layer

        if scenario == "ours":
            # Capacity above the message count: a slow client must not make us drop.
            layer: Any = InMemoryChannelLayer(capacity=100_000)
        else:
            from fast_channels.layers.redis import RedisPubSubChannelLayer

            layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix="bench")
        register_channel_layer("default", layer)

        class FanoutConsumer(AsyncWebsocketConsumer):
            groups = [GROUP]  # noqa: RUF012
            # The trigger sends broadcasts as fast as the window allows: no rate limit.
            limits = ConnectionLimits(rate=None)

            async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
                await self.channel_layer.group_send(
                    GROUP, {"type": "fanout.message", "text": text_data}
                )

            async def fanout_message(self, event: dict[str, Any]) -> None:
                await self.send(text_data=event["text"])

        endpoint: Any = FanoutConsumer.as_asgi()

        def stats() -> dict[str, Any]:
            return {"dropped": getattr(layer, "dropped_messages", 0)}

    else:
        sockets: set[WebSocket] = set()

        async def bare(ws: WebSocket) -> None:
            await ws.accept()
            sockets.add(ws)
            try:
                while True:
                    text = await ws.receive_text()
                    for other in list(sockets):
                        try:
                            await other.send_text(text)
                        except Exception:
                            sockets.discard(other)
            except WebSocketDisconnect:
                pass
            finally:
                sockets.discard(ws)

        endpoint = bare

        def stats() -> dict[str, Any]:
            return {"dropped": 0}

    async def stats_view(request: Any) -> JSONResponse:
        return JSONResponse(stats())

    return Starlette(routes=[WebSocketRoute("/ws", endpoint), Route("/stats", stats_view)])


def serve(scenario: str, port: int, profile: str | None, redis_url: str | None) -> None:
    import uvicorn

    app = build_app(scenario, redis_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    if profile:
        import cProfile
        import signal

        # uvicorn re-raises SIGTERM after its graceful shutdown; swallow it so the
        # profile below is written before the process exits.
        signal.signal(signal.SIGTERM, lambda *_: None)
        prof = cProfile.Profile()
        prof.enable()
        try:
            server.run()
        finally:
            prof.disable()
            prof.dump_stats(profile)
    else:
        server.run()


# --------------------------------------------------------------------------- load clients


def client_options(compression: str) -> dict[str, Any]:
    # Browsers negotiate permessage-deflate, so "deflate" is the realistic default;
    # "none" removes the compression cost that both scenarios share.
    return {
        "max_queue": None,
        "ping_interval": None,
        "compression": "deflate" if compression == "deflate" else None,
    }


async def load(url: str, count: int, messages: int, compression: str) -> None:
    from websockets.asyncio.client import connect

    total = WARMUP + messages
    latencies: list[int] = []
    last = [0.0]

    async def client(ws: Any) -> None:
        for _ in range(total):
            frame = await ws.recv()
            now = time.time_ns()
            index, sent = frame.split(" ")
            if int(index) >= WARMUP:
                latencies.append(now - int(sent))
        last[0] = max(last[0], time.time())

    conns = []
    for _ in range(count):
        conns.append(await connect(url, **client_options(compression)))
    print("READY", flush=True)
    await asyncio.gather(*(client(ws) for ws in conns))
    print("DONE " + json.dumps({"last": last[0], "lat_us": [v // 1000 for v in latencies]}))
    sys.stdout.flush()
    for ws in conns:
        await ws.close()


# --------------------------------------------------------------------------- driver


@dataclass
class Result:
    scenario: str
    n: int
    deliveries: int
    seconds: float
    cpu: float
    rss_per_conn: float
    p50_us: float
    p99_us: float
    dropped: int

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu * 1e6 / self.deliveries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


async def run_one(scenario: str, n: int, args: argparse.Namespace) -> Result:
    import psutil
    from websockets.asyncio.client import connect

    port = free_port()
    cmd = [sys.executable, __file__, "--serve", scenario, "--port", str(port)]
    if scenario == "pubsub":
        cmd += ["--redis-url", args.redis_url]
    if args.profile and scenario != "bare":
        cmd += ["--profile-out", f"{args.profile}.{n}"]
    server = subprocess.Popen(cmd)  # noqa: ASYNC220 - started once per run, before timing
    try:
        wait_port(port)
        proc = psutil.Process(server.pid)
        url = f"ws://127.0.0.1:{port}/ws"
        rss0 = proc.memory_info().rss
        shares = [n // args.load_procs + (i < n % args.load_procs) for i in range(args.load_procs)]
        loaders = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--load",
                url,
                "--count",
                str(k),
                "--messages",
                str(args.messages),
                "--compression",
                args.compression,
                stdout=asyncio.subprocess.PIPE,
                limit=2**28,
            )
            for k in shares
            if k
        ]
        for loader in loaders:
            assert loader.stdout is not None
            line = await asyncio.wait_for(loader.stdout.readline(), 120)
            if not line.startswith(b"READY"):
                raise RuntimeError(f"load client failed to connect: {line!r}")
        await asyncio.sleep(0.5)
        rss1 = proc.memory_info().rss

        async with connect(url, **client_options(args.compression)) as trigger:

            async def broadcast(first: int, count: int) -> None:
                outstanding = 0
                sent = first
                received = first
                while received < first + count:
                    while outstanding < args.window and sent < first + count:
                        await trigger.send(f"{sent} {time.time_ns()}")
                        sent += 1
                        outstanding += 1
                    await trigger.recv()
                    received += 1
                    outstanding -= 1

            await broadcast(0, WARMUP)
            await asyncio.sleep(1.0)  # let every client drain the warm-up
            cpu0 = proc.cpu_times()
            t0 = time.time()
            await broadcast(WARMUP, args.messages)
            lasts, latencies = [], []
            for loader in loaders:
                assert loader.stdout is not None
                line = await asyncio.wait_for(loader.stdout.readline(), 600)
                if not line.startswith(b"DONE "):
                    raise RuntimeError(f"load client failed: {line[:200]!r}")
                data = json.loads(line[5:])
                lasts.append(data["last"])
                latencies.extend(data["lat_us"])
            cpu1 = proc.cpu_times()
        for loader in loaders:
            await loader.wait()
        stats_url = f"http://127.0.0.1:{port}/stats"
        with urllib.request.urlopen(stats_url) as response:  # noqa: ASYNC210 - after timing
            dropped = json.loads(response.read())["dropped"]
        cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        return Result(
            scenario=scenario,
            n=n,
            deliveries=args.messages * (n + 1),  # +1: the trigger receives every broadcast too
            seconds=max(lasts) - t0,
            cpu=cpu,
            rss_per_conn=(rss1 - rss0) / n,
            p50_us=percentile(latencies, 0.50),
            p99_us=percentile(latencies, 0.99),
            dropped=dropped,
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(runs: dict[tuple[str, int], list[Result]], sizes: list[int]) -> None:
    header = (
        f"{'N':>5} {'scenario':>8} {'deliv/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU us/dlv':>10} {'RSS KiB/conn':>12} {'dropped':>7}"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        for scenario in SCENARIOS:
            for r in runs.get((scenario, n), []):
                print(
                    f"{n:>5} {scenario:>8} {r.rate:>9.0f} {r.p50_us / 1000:>8.1f} "
                    f"{r.p99_us / 1000:>8.1f} {r.cpu_us:>10.1f} {r.rss_per_conn / 1024:>12.1f} "
                    f"{r.dropped:>7}"
                )
        bare = runs.get(("bare", n))
        for scenario in ("ours", "pubsub"):
            ours = runs.get((scenario, n))
            if not (ours and bare):
                continue
            # Median of each side, and the spread of the round-by-round ratios.
            cpu = median([r.cpu_us for r in ours]) / median([r.cpu_us for r in bare])
            rss = median([r.rss_per_conn for r in ours]) / median([r.rss_per_conn for r in bare])
            rounds = list(zip(ours, bare, strict=False))
            cpu_each = " ".join(f"{o.cpu_us / b.cpu_us:.2f}" for o, b in rounds)
            rss_each = " ".join(f"{o.rss_per_conn / b.rss_per_conn:.2f}" for o, b in rounds)
            print(
                f"{n:>5} {scenario + '/bare':>12}  CPU {cpu:.2f}x (rounds: {cpu_each})   "
                f"RSS {rss:.2f}x (rounds: {rss_each})"
            )
    print("ratio = scenario / bare, medians over rounds; judge by server CPU per delivery.")


async def drive(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    scenarios = args.scenarios.split(",")
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    redis = None
    if "pubsub" in scenarios and not args.redis_url:
        try:
            from sandbox.redis_process import RedisProcess
        except ImportError:
            raise SystemExit(
                "The pubsub scenario needs a Redis: pass --redis-url, or run "
                "`uv run python -m bench.ws_fanout` from the repository root so the "
                "driver can start one (sandbox.redis_process)."
            ) from None

        redis = RedisProcess().start()
        args.redis_url = redis.url
    runs: dict[tuple[str, int], list[Result]] = {}
    try:
        for n in sizes:
            for round_ in range(args.repeat):
                for scenario in scenarios:  # interleaved: the machine's load hits all alike
                    print(f"... N={n} {scenario} round {round_ + 1}", file=sys.stderr, flush=True)
                    result = await run_one(scenario, n, args)
                    runs.setdefault((scenario, n), []).append(result)
    finally:
        if redis is not None:
            redis.stop()
    report(runs, sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--window", type=int, default=4, help="broadcasts in flight")
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--scenarios", default="ours,pubsub,bare")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--profile", help="cProfile our server into PROFILE.<N>")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, scenarios interleaved")
    parser.add_argument("--redis-url", help="Redis for the pubsub scenario (else a private one)")
    parser.add_argument("--serve", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.profile_out, args.redis_url)
    elif args.load:
        asyncio.run(load(args.load, args.count, args.messages, args.compression))
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        asyncio.run(drive(args))


if __name__ == "__main__":
    main()
