"""Queue layer faults that need several processes or a Sentinel failover.

A sender with a skewed clock, presence and history kept by a skewed process,
a named channel shared with another worker process, and a graceful
``SENTINEL FAILOVER`` (the old master stays alive).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from redis.exceptions import ResponseError

from .conftest import QueueLayerFactory, SentinelCluster
from .test_queue_faults import blocked

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[3]


def fault_worker(*args: str) -> subprocess.Popen[str]:
    """Start ``_queue_fault_worker``; stdout is a pipe except for ``skewed_group_send``
    (close it after), stdin too for ``skewed_group_state``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.redis._queue_fault_worker", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE if args[0] == "skewed_group_state" else None,
        stdout=None if args[0] == "skewed_group_send" else subprocess.PIPE,
        text=True,
    )


async def read_line(proc: subprocess.Popen[str], within: float) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), within)).strip()


async def test_sender_with_a_fast_clock_keeps_live_members(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    # Was: a sender 12 s ahead cut members off at its "now" - 10 s: nobody got it.
    layer = make_queue_layer()  # member_timeout 10 s
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    pending = asyncio.create_task(layer.receive(channel))
    proc = fault_worker("skewed_group_send", redis_url, layer.prefix, "room", "12")
    try:
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert await asyncio.wait_for(pending, 10) == {"type": "skewed.hello"}
    async with aioredis.from_url(redis_url) as raw:
        assert await raw.zcard(f"{layer.prefix}:g:room") == 1


@pytest.mark.parametrize("skew", [12.0, -12.0])
@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_presence_and_history_ignore_a_skewed_process_clock(
    kind: str, skew: float, redis_url: str
) -> None:
    # Was: presence stamps and cutoffs, and the pub/sub layer's history stamps and
    # both layers' history age cut, used each process's clock against a 10 s limit.
    prefix = f"skew{uuid.uuid4().hex[:8]}"
    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    layer = cls(hosts=[redis_url], prefix=prefix, group_history={"room": (10, 10.0)})
    async with layer:
        await layer.presence_add("room", "app!1")
        await layer.group_send("room", {"type": "app.kept"})
        proc = fault_worker("skewed_group_state", redis_url, prefix, "room", str(skew), kind)
        try:
            seen = json.loads(await read_line(proc, 30))
            both = {"present": ["app!1", "skewed!1"], "kept": ["app.kept", "skewed.kept"]}
            assert seen == both, f"the process {skew:+} s off saw {seen}"
            present = sorted(await layer.presence("room"))
            kept = [m["type"] for m in (await layer.group_history("room")).messages]
            assert {"present": present, "kept": kept} == both
        finally:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            await asyncio.to_thread(proc.wait, 10)
            proc.stdout.close()
        await layer.flush()


async def test_cancelled_named_receive_hands_the_job_to_another_process(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    # Was: the job popped for the cancelled receive stayed in this process's buffer.
    layer = make_queue_layer()
    async with aioredis.from_url(redis_url) as raw:
        mine = asyncio.create_task(layer.receive("jobs"))
        await blocked(raw, "brpop")  # this process is first in Redis's queue of waiters
        other = fault_worker("named_receive", redis_url, layer.prefix, "jobs")
        try:
            assert await read_line(other, 30) == "ready"
            await blocked(raw, "brpop", 2)
            mine.cancel()  # what wait_for() does when its timeout passes
            await asyncio.gather(mine, return_exceptions=True)
            await layer.send("jobs", {"type": "job.one"})  # popped by our pending BRPOP
            assert await read_line(other, 15) == "job.one"
            assert await raw.llen(f"{layer.prefix}:c:jobs") == 0
            # ...and not delivered here too.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(layer.receive("jobs"), 0.5)
        finally:
            other.kill()
            other.wait()
            assert other.stdout is not None
            other.stdout.close()


async def resend_until(call: Any, done: asyncio.Task[Any], within: float) -> None:
    """``call()`` every 100 ms (errors while the failover settles are expected) until done."""
    start = time.monotonic()
    while not done.done():
        assert time.monotonic() - start < within, "never delivered after the failover"
        with contextlib.suppress(ChannelLayerConnectionError, ResponseError):
            await call()
        await asyncio.wait({done}, timeout=0.1)


@pytest.mark.slow
async def test_graceful_sentinel_failover_same_layer_resumes(
    sentinel_cluster: SentinelCluster,
) -> None:
    layer = RedisChannelLayer(
        sentinels=sentinel_cluster.sentinels,
        service_name=sentinel_cluster.service_name,
        prefix="gracefail",
    )
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.send("jobs", {"type": "warm"})
        assert await asyncio.wait_for(layer.receive("jobs"), 5) == {"type": "warm"}
        named = asyncio.create_task(layer.receive("jobs"))
        local = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0.3)  # both readers block on the master
        with redis.Redis(port=sentinel_cluster.sentinel_processes[0].port) as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", sentinel_cluster.service_name)
        sentinel_cluster.wait_for_promotion(30)

        await resend_until(lambda: layer.send(channel, {"type": "direct"}), local, 30)
        assert local.result() == {"type": "direct"}
        # The pending named receive gets a job sent after the failover, or (if the
        # failover outlasted its patience) a clear error; a new receive works.
        await resend_until(lambda: layer.send("jobs", {"type": "job"}), named, 30)
        if named.exception() is not None:
            assert isinstance(named.exception(), ChannelLayerConnectionError)
            assert await asyncio.wait_for(layer.receive("jobs"), 10) == {"type": "job"}
        else:
            assert named.result() == {"type": "job"}

        async def group_message() -> dict[str, Any]:
            while (message := await layer.receive(channel))["type"] != "group":
                pass  # a "direct" resent while the failover settled
            return message

        grouped = asyncio.create_task(group_message())
        await resend_until(lambda: layer.group_send("room", {"type": "group"}), grouped, 30)
        assert grouped.result() == {"type": "group"}
