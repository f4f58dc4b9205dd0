"""A cancel that lands together with Redis's confirmation still cancels.

On Python 3.11, ``asyncio.wait_for`` returns the awaited result when the
awaited future completes in the same loop iteration as the cancel, so a
consumer torn down while its ``group_add`` waited for SUBSCRIBE's reply went
on running. The subscriber waits with ``asyncio.timeout`` instead.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from fast_channels.layers.redis import RedisPubSubChannelLayer

from sandbox.redis_process import RedisProcess


async def _pending_confirmation(layer: RedisPubSubChannelLayer, group: str) -> asyncio.Future[None]:
    """The future ``subscribe()`` waits on for ``group``'s confirmation (one shard)."""
    state = layer._state()  # private: the race needs that future
    subscriber, name = state.subscriber(0), state.group_key(group)
    for _ in range(500):
        waiting = subscriber._pending.get(name)
        if waiting:
            return waiting[0]
        await asyncio.sleep(0.001)
    raise AssertionError(f"subscribe({name!r}) never waited for a confirmation")


async def test_a_cancel_together_with_the_confirmation_cancels(redis_server: RedisProcess) -> None:
    layer = RedisPubSubChannelLayer(hosts=[redis_server.url], prefix="cancel")
    async with layer:
        await layer.send(await layer.new_channel(), {"type": "warm.up"})  # connected
        channel = await layer.new_channel()
        after_add: list[str] = []

        async def join() -> None:
            await layer.group_add("room", channel)
            after_add.append("ran on")  # a cancelled consumer must not get here

        assert redis_server.proc is not None
        pid = redis_server.proc.pid
        os.kill(pid, signal.SIGSTOP)  # SUBSCRIBE stays unanswered: the race is ours to stage
        try:
            task = asyncio.create_task(join())
            confirmation = await _pending_confirmation(layer, "room")
            # The confirmation and the cancel arrive in the same loop iteration.
            confirmation.set_result(None)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            os.kill(pid, signal.SIGCONT)
        assert after_add == []
