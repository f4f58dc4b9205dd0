"""What the consumer itself costs per socket and per delivery, without sockets.

Run from the repository root:
    uv run python -m bench.ws_overhead                 # N = 1000, 200 broadcasts
    uv run python -m bench.ws_overhead --sizes 200,2000 --messages 100

``ws_fanout.py`` measures the whole server, where the ASGI server's send and the
kernel dominate and the machine's load moves every number. This one takes them
out: N connections of the same two apps (``ours``: an ``AsyncWebsocketConsumer``
in a group on an ``InMemoryChannelLayer``; ``bare``: a Starlette endpoint looping
over its sockets) run in this process behind a ``send`` that does nothing, and
one trigger frame per broadcast reaches every connection. Printed per N:

* memory per connection (``tracemalloc``: what the connections allocated, the
  app's share only, as no server objects exist here), and
* CPU per delivery (``time.process_time``).

For numbers that do not depend on the machine's load, count instructions: run one
scenario under ``valgrind --tool=callgrind`` with two ``--messages`` values and
divide the difference of the totals by the difference of the deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc
from typing import Any

GROUP = "fanout"
SCOPE: dict[str, Any] = {
    "type": "websocket",
    "path": "/ws",
    "raw_path": b"/ws",
    "query_string": b"",
    "headers": [],
    "scheme": "ws",
    "server": ("127.0.0.1", 8000),
    "client": ("127.0.0.1", 50000),
    "subprotocols": [],
    "asgi": {"version": "3.0"},
    "root_path": "",
}


def build_app(scenario: str) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    if scenario == "ours":
        from fast_channels.consumer.limits import ConnectionLimits
        from fast_channels.consumer.websocket import AsyncWebsocketConsumer
        from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
        from fast_channels.layers.registry import unregister_channel_layer

        unregister_channel_layer("default")  # the previous N's layer
        register_channel_layer("default", InMemoryChannelLayer(capacity=100_000))

        class FanoutConsumer(AsyncWebsocketConsumer):
            groups = [GROUP]  # noqa: RUF012
            limits = ConnectionLimits(rate=None)

            async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
                await self.channel_layer.group_send(
                    GROUP, {"type": "fanout.message", "text": text_data}
                )

            async def fanout_message(self, event: dict[str, Any]) -> None:
                await self.send(text_data=event["text"])

        endpoint: Any = FanoutConsumer.as_asgi()
    else:
        sockets: set[WebSocket] = set()

        async def bare(ws: WebSocket) -> None:
            await ws.accept()
            sockets.add(ws)
            try:
                while True:
                    text = await ws.receive_text()
                    for other in list(sockets):
                        await other.send_text(text)
            except WebSocketDisconnect:
                pass
            finally:
                sockets.discard(ws)

        endpoint = bare
    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


async def measure(scenario: str, n: int, messages: int) -> tuple[float, float]:
    """(bytes per connection, CPU microseconds per delivery) for one scenario."""
    app = build_app(scenario)
    loop = asyncio.get_running_loop()
    sent = accepted = 0
    wake_at: dict[int, asyncio.Future[None]] = {}

    async def send(message: dict[str, Any]) -> None:  # the server: takes every frame at once
        nonlocal sent, accepted
        if message["type"] == "websocket.send":
            sent += 1
            done = wake_at.pop(sent, None)
            if done is not None:
                done.set_result(None)
        elif message["type"] == "websocket.accept":
            accepted += 1

    inboxes: list[asyncio.Queue[dict[str, Any]]] = []
    tasks: list[asyncio.Task[None]] = []

    async def open_connections(count: int) -> None:
        for _ in range(count):
            inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            inbox.put_nowait({"type": "websocket.connect"})
            inboxes.append(inbox)
            tasks.append(asyncio.create_task(app(dict(SCOPE), inbox.get, send)))
        while accepted < len(inboxes):  # noqa: ASYNC110 - a counter the fake server bumps
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # group joins and first receives

    async def broadcast(count: int) -> None:
        for i in range(count):
            wake_at[sent + len(inboxes)] = done = loop.create_future()
            inboxes[0].put_nowait({"type": "websocket.receive", "text": f"{i} payload"})
            await done

    await open_connections(10)  # imports, first-call caches: outside the measurement
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await open_connections(n - 10)
    gc.collect()
    per_connection = (tracemalloc.get_traced_memory()[0] - before) / (n - 10)
    tracemalloc.stop()
    await broadcast(10)
    cpu0 = time.process_time()
    await broadcast(messages)
    cpu_us = (time.process_time() - cpu0) * 1e6 / (messages * n)
    for inbox in inboxes:
        inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*tasks, return_exceptions=True)
    return per_connection, cpu_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--scenarios", default="ours,bare")
    args = parser.parse_args()
    print(f"{'N':>6} {'scenario':>8} {'B/conn':>8} {'CPU us/dlv':>10}")
    for n in (int(s) for s in args.sizes.split(",")):
        results = {}
        for scenario in args.scenarios.split(","):
            # A fresh loop per run; the layer registry is replaced by build_app().
            results[scenario] = asyncio.run(measure(scenario, n, args.messages))
            memory, cpu = results[scenario]
            print(f"{n:>6} {scenario:>8} {memory:>8.0f} {cpu:>10.2f}")
        if "ours" in results and "bare" in results:
            (om, oc), (bm, bc) = results["ours"], results["bare"]
            print(f"{n:>6} {'ratio':>8} {om / bm:>8.2f} {oc / bc:>10.2f}")
    print("ratio = ours / bare, of what the app allocates and spends (no server, no sockets)")


if __name__ == "__main__":
    main()
