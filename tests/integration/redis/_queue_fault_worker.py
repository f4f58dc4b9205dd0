"""Subprocess helpers for the queue fault tests (run with ``python -m``).

``skewed_group_send URL PREFIX GROUP SKEW``: a sender whose clock runs ``SKEW``
seconds ahead (``time.time`` patched before the layer is imported) sends one
``skewed.hello`` to ``GROUP``.

``named_receive URL PREFIX CHANNEL``: a worker sharing named ``CHANNEL``;
prints ``ready``, then the type of every message it receives.
"""

from __future__ import annotations

import asyncio
import sys
import time


async def skewed_group_send(url: str, prefix: str, group: str, skew: float) -> None:
    real = time.time
    time.time = lambda: real() + skew  # this host's clock runs ahead
    from fast_channels.layers.redis import RedisChannelLayer

    async with RedisChannelLayer(hosts=[url], prefix=prefix) as layer:
        await layer.group_send(group, {"type": "skewed.hello"})


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
    else:
        asyncio.run(named_receive(url, prefix, name))
