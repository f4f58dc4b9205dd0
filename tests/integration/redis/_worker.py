"""Subprocess helpers for the queue layer tests (run with ``python -m``).

``send URL PREFIX CHANNEL SENDER COUNT``: a background worker as the guide's
"Sending from Background Workers" writes it: registers a layer, gets it by
alias and sends ``COUNT`` numbered messages to ``CHANNEL``.

``join URL PREFIX GROUP MEMBER_TIMEOUT``: a consumer process: makes a
process-local channel, joins ``GROUP``, prints the channel name, then waits
in ``receive()`` until killed.
"""

from __future__ import annotations

import asyncio
import sys

from fast_channels.layers import get_channel_layer, register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer


async def process_job(job_id: str, channel_name: str) -> None:
    layer = get_channel_layer("jobs")
    await layer.send(channel_name, {"type": "job.completed", "job_id": job_id, "result": "ok"})


async def send(url: str, prefix: str, channel: str, sender: str, count: int) -> None:
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, capacity=count * 3)
    register_channel_layer("jobs", layer)
    async with layer:
        for i in range(count):
            await process_job(f"{sender}:{i}", channel)


async def join(url: str, prefix: str, group: str, member_timeout: float) -> None:
    layer = RedisChannelLayer(
        hosts=[url], prefix=prefix, member_timeout=member_timeout, heartbeat_interval=0.5
    )
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    print(channel, flush=True)
    while True:
        message = await layer.receive(channel)
        print(message["type"], flush=True)


if __name__ == "__main__":
    mode, url, prefix, *rest = sys.argv[1:]
    if mode == "send":
        asyncio.run(send(url, prefix, rest[0], rest[1], int(rest[2])))
    else:
        asyncio.run(join(url, prefix, rest[0], float(rest[1])))
