"""Open and close 10,000 short-lived process-local channels; report what stays behind.

Run from the repository root (``sandbox`` must be importable):

    uv run python -m bench.channel_churn [--channels 10000] [--expiry 1]

Uses ``$REDIS_URL`` if set, else starts a private redis-server on a free port.
For each layer (memory, Redis queue, Redis pub/sub) and each way a channel ends:

* ``released``: what a consumer does: ``new_channel``, ``group_add``, a message
  sent and received, then ``group_discard`` and ``release_channel`` when it stops.
* ``abandoned``: ``new_channel`` and one message sent; every other channel is
  received on once, none is released (a caller that forgets its channels).

It prints, before, right after and once ``expiry`` plus a sweep has passed:
process RSS, the layer's local state (channels, mailboxes or inboxes, buffered
messages, subscriptions) and, for Redis, the keys under the layer's prefix,
the fields of the per-inbox count hash and the subscribed pub/sub channels.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from typing import Any

import psutil
import redis.asyncio as aioredis
from fast_channels.layers.base import BaseChannelLayer
from fast_channels.layers.memory import InMemoryChannelLayer
from fast_channels.layers.naming import non_local_name
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from sandbox.redis_process import RedisProcess

SETTLE = 3.5  # seconds: expiry (1 s) + member_timeout (1 s) + a reader sweep, with room


def local_state(layer: BaseChannelLayer) -> dict[str, int]:
    if isinstance(layer, InMemoryChannelLayer):
        channels = layer._channels
        return {
            "channels": len(channels),
            "buffered": sum(len(c.messages or ()) for c in channels.values()),
            "group_members": sum(len(m) for m in layer._groups.values()),
        }
    if isinstance(layer, RedisChannelLayer):
        if not layer._conns.loop_count:
            return {"mailboxes": 0, "buffered": 0}
        boxes = [b for r in layer._state().inboxes.values() for b in r.mailboxes.values()]
        return {"mailboxes": len(boxes), "buffered": sum(len(b.items) for b in boxes)}
    assert isinstance(layer, RedisPubSubChannelLayer)
    state = layer._state()
    return {
        "inboxes": len(state.inboxes),
        "buffered": sum(len(i.messages) for i in state.inboxes.values()),
        "routes": len(state.routes),
    }


async def redis_state(raw: aioredis.Redis, layer: BaseChannelLayer, first: str) -> dict[str, int]:
    prefix = getattr(layer, "prefix", None)
    if prefix is None:
        return {}
    keys = [k async for k in raw.scan_iter(f"{prefix}:*")]
    found = {"keys": len(keys), "subscriptions": len(await raw.pubsub_channels(f"{prefix}:*"))}
    if isinstance(layer, RedisChannelLayer):
        found["count_fields"] = await raw.hlen(f"{prefix}:n:{non_local_name(first)}")
    return found


async def churn(layer: BaseChannelLayer, style: str, n: int) -> None:
    for i in range(n):
        channel = await layer.new_channel()
        if style == "released":
            await layer.group_add("room", channel)
            await layer.send(channel, {"type": "hello", "i": i})
            await asyncio.wait_for(layer.receive(channel), 5)
            await layer.group_discard("room", channel)
            await layer.release_channel(channel)
        else:
            if isinstance(layer, RedisPubSubChannelLayer) or i % 2:
                await layer.send(channel, {"type": "hello", "i": i})
            if i % 2:
                await asyncio.wait_for(layer.receive(channel), 5)
            elif not isinstance(layer, RedisPubSubChannelLayer):
                await layer.send(channel, {"type": "hello", "i": i})


async def run_one(name: str, style: str, url: str, n: int, expiry: float) -> None:
    prefix = f"churn{uuid.uuid4().hex[:8]}"
    layers: dict[str, Any] = {
        "memory": lambda: InMemoryChannelLayer(expiry=expiry, group_expiry=60),
        "queue": lambda: RedisChannelLayer(
            hosts=[url], prefix=prefix, expiry=expiry, member_timeout=1
        ),
        "pubsub": lambda: RedisPubSubChannelLayer(hosts=[url], prefix=prefix),
    }
    layer: BaseChannelLayer = layers[name]()
    process = psutil.Process()
    async with aioredis.from_url(url) as raw:
        first = await layer.new_channel()

        async def sample() -> str:
            rss = process.memory_info().rss / 2**20
            return f"rss {rss:.0f} MiB {local_state(layer)} {await redis_state(raw, layer, first)}"

        before = await sample()
        await churn(layer, style, n)
        peak = await sample()
        await asyncio.sleep(SETTLE)
        if isinstance(layer, InMemoryChannelLayer):  # it drops expired state when next used
            await layer.send(first, {"type": "tick"})
        after = await sample()
        await layer.flush()
        await layer.close()
    print(f"{name:>6} {style:>9}: before {before}")
    print(f"{'':>6} {'':>9}  peak   {peak}")
    print(f"{'':>6} {'':>9}  after  {after}")


async def main(args: argparse.Namespace, url: str) -> None:
    print(f"{args.channels:,} channels per run, expiry {args.expiry} s, settle {SETTLE} s")
    for name in ("memory", "queue", "pubsub"):
        for style in ("released", "abandoned"):
            await run_one(name, style, url, args.channels, args.expiry)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--expiry", type=float, default=1.0)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if url:
        asyncio.run(main(args, url))
    else:
        with RedisProcess() as server:
            asyncio.run(main(args, server.url))
