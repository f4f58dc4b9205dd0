"""Subprocess helpers for the queue fault tests (run with ``python -m``).

``skewed_group_send URL PREFIX GROUP SKEW``: a sender whose clock runs ``SKEW``
seconds ahead (``time.time`` patched before the layer is imported) sends one
``skewed.hello`` to ``GROUP``.

``skewed_group_state URL PREFIX GROUP SKEW KIND``: a process of layer ``KIND``
(``queue`` or ``pubsub``) whose clock runs ``SKEW`` seconds off adds a presence
(channel ``skewed!1``) and a history message (``skewed.kept``) to ``GROUP``,
then prints the channels present and the history's message types as JSON; it
stays present until its stdin closes.

``named_receive URL PREFIX CHANNEL``: a worker sharing named ``CHANNEL``;
prints ``ready``, then the type of every message it receives.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def skewed_group_send(url: str, prefix: str, group: str, skew: float) -> None:
    real = time.time
    time.time = lambda: real() + skew  # this host's clock runs ahead
    from fast_channels.layers.redis import RedisChannelLayer

    async with RedisChannelLayer(hosts=[url], prefix=prefix) as layer:
        await layer.group_send(group, {"type": "skewed.hello"})


async def skewed_group_state(url: str, prefix: str, group: str, skew: float, kind: str) -> None:
    real = time.time
    time.time = lambda: real() + skew
    from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    async with cls(hosts=[url], prefix=prefix, group_history={group: (10, 10.0)}) as layer:
        await layer.presence_add(group, "skewed!1", {"clock": skew})
        await layer.group_send(group, {"type": "skewed.kept"})
        present = sorted(await layer.presence(group))
        kept = [m["type"] for m in (await layer.group_history(group)).messages]
        print(json.dumps({"present": present, "kept": kept}), flush=True)
        await asyncio.to_thread(sys.stdin.read)  # present until the test lets go


async def named_receive(url: str, prefix: str, channel: str) -> None:
    from fast_channels.layers.redis import RedisChannelLayer

    async with RedisChannelLayer(hosts=[url], prefix=prefix) as layer:
        print("ready", flush=True)
        while True:
            print((await layer.receive(channel))["type"], flush=True)


if __name__ == "__main__":
    mode, url, prefix, name, *rest = sys.argv[1:]
    if mode == "skewed_group_send":
        asyncio.run(skewed_group_send(url, prefix, name, float(rest[0])))
    elif mode == "skewed_group_state":
        asyncio.run(skewed_group_state(url, prefix, name, float(rest[0]), rest[1]))
    else:
        asyncio.run(named_receive(url, prefix, name))
