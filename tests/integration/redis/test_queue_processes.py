"""Several processes on one Redis: senders in workers, consumers that die."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from .conftest import QueueLayerFactory

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[3]


def worker(*args: str) -> subprocess.Popen[str]:
    """Start ``_worker.py``; its stdout is a pipe only for ``join`` (close it after)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.redis._worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE if args[0] == "join" else None,
        text=True,
    )


async def test_two_worker_processes_send_1000_each_to_one_receiver(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    layer = make_queue_layer(capacity=6000)
    channel = await layer.new_channel()
    senders = [worker("send", redis_url, layer.prefix, channel, name, "1000") for name in "ab"]
    got: dict[str, list[int]] = {"a": [], "b": []}
    try:
        for _ in range(2000):
            message = await asyncio.wait_for(layer.receive(channel), 20)
            assert message["type"] == "job.completed"
            sender, number = message["job_id"].split(":")
            got[sender].append(int(number))
    finally:
        for proc in senders:
            proc.wait(timeout=20)
    assert [proc.returncode for proc in senders] == [0, 0]
    assert got == {"a": list(range(1000)), "b": list(range(1000))}  # none lost, none twice
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)


async def wait_for_members(raw: Any, key: str, count: int, within: float) -> float:
    start = time.monotonic()
    while await raw.zcard(key) != count:
        if time.monotonic() - start > within:
            raise AssertionError(f"{key} never reached {count} members")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.slow
async def test_members_of_a_dead_process_disappear(
    make_queue_layer: QueueLayerFactory, redis_url: str
) -> None:
    member_timeout = 1.5
    layer = make_queue_layer(member_timeout=member_timeout)
    key = f"{layer.prefix}:g:room"
    proc = worker("join", redis_url, layer.prefix, "room", str(member_timeout))
    try:
        assert proc.stdout is not None
        remote = proc.stdout.readline().strip()
        assert "!" in remote
        # Alive for longer than member_timeout: its heartbeat keeps it in.
        await asyncio.sleep(member_timeout + 1)
        await layer.group_send("room", {"type": "alive.check"})
        assert proc.stdout.readline().strip() == "alive.check"
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    killed = time.monotonic()
    async with aioredis.from_url(redis_url) as raw:
        assert await raw.zcard(key) == 1
        while await raw.zcard(key):
            await layer.group_send("room", {"type": "anyone.there"})
            await asyncio.sleep(0.1)
            assert time.monotonic() - killed < member_timeout + 3, "dead member never removed"
    gone = time.monotonic() - killed
    print(f"member of a killed process removed {gone:.2f}s after the kill")
