"""Presence heals and history changes epoch when Redis restarts empty; dead processes lapse.

Both Redis layers, against a private server the tests kill and restart.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError, HistoryUnrecoverable
from fast_channels.layers import BaseChannelLayer
from fast_channels.layers.history import HistoryLayer
from fast_channels.layers.presence import PresenceLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

pytestmark = pytest.mark.redis

INTERVAL = 0.3  # heartbeat: presence is back this long after Redis answers again
TIMEOUT = 2.0  # a dead process's presence lapses after this


class FastPubSub(RedisPubSubChannelLayer):
    presence_interval = INTERVAL
    presence_timeout = TIMEOUT


def build(kind: str, url: str, prefix: str, **kwargs: Any) -> BaseChannelLayer:
    if kind == "queue":
        return RedisChannelLayer(
            hosts=[url],
            prefix=prefix,
            heartbeat_interval=INTERVAL,
            member_timeout=TIMEOUT,
            **kwargs,
        )
    return FastPubSub(hosts=[url], prefix=prefix, **kwargs)


@pytest.fixture(params=["queue", "pubsub"])
async def make(
    request: pytest.FixtureRequest, redis_server: Any
) -> AsyncIterator[Callable[..., Any]]:
    prefix = f"r{uuid.uuid4().hex[:8]}"
    made: list[BaseChannelLayer] = []

    def factory(**kwargs: Any) -> Any:
        layer = build(request.param, redis_server.url, prefix, **kwargs)
        made.append(layer)
        return layer

    factory.kind = request.param  # type: ignore[attr-defined]
    factory.prefix = prefix  # type: ignore[attr-defined]
    yield factory
    for layer in made:
        await layer.close()


async def wait_for(check: Callable[[], Any], within: float) -> float:
    """Poll ``check`` (an async callable) until truthy; return the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            if await check():
                return time.monotonic() - start
        except ChannelLayerConnectionError:
            pass
        if time.monotonic() - start > within:
            raise AssertionError(f"not true within {within}s")
        await asyncio.sleep(0.05)


async def test_presence_heals_after_redis_restarts_empty(make: Any, redis_server: Any) -> None:
    layer = make()
    other_process = make()
    assert isinstance(layer, PresenceLayer) and isinstance(other_process, PresenceLayer)
    channel = await layer.new_channel()
    await layer.presence_add("room", channel, {"user": "alice"})
    assert await other_process.presence("room") == {channel: {"user": "alice"}}
    redis_server.restart()  # empty: no persistence
    took = await wait_for(
        lambda: _present(other_process, "room", channel), within=INTERVAL + 1.5 + 2
    )
    assert took < INTERVAL + 3  # one heartbeat plus reconnect back-off, on a busy machine
    assert await other_process.presence("room") == {channel: {"user": "alice"}}


async def _present(layer: PresenceLayer, group: str, channel: str) -> bool:
    return channel in await layer.presence(group)


_DYING = """
import asyncio, os, sys
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
async def main():
    cls = RedisChannelLayer if sys.argv[1] == "queue" else RedisPubSubChannelLayer
    layer = cls(hosts=[sys.argv[2]], prefix=sys.argv[3])
    channel = await layer.new_channel()
    await layer.presence_add("room", channel, {"user": "ghost"})
    print(channel, flush=True)
    os._exit(0)  # dies without close(): nobody removes its presence
asyncio.run(main())
"""


async def test_presence_of_a_dead_process_lapses(make: Any, redis_server: Any) -> None:
    layer = make()
    alive = await layer.new_channel()
    await layer.presence_add("room", alive)
    args = [sys.executable, "-c", _DYING, make.kind, redis_server.url, make.prefix]
    ghost = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(ghost.communicate(), 30)
    assert ghost.returncode == 0
    ghost_channel = out.decode().strip()
    assert ghost_channel in await layer.presence("room")
    start = time.monotonic()

    async def gone() -> bool:
        return ghost_channel not in await layer.presence("room")

    await wait_for(gone, within=TIMEOUT + 3)
    assert time.monotonic() - start <= TIMEOUT + 3
    assert alive in await layer.presence("room")  # the live one is re-asserted meanwhile


async def test_history_gets_a_new_epoch_after_redis_restarts_empty(
    make: Any, redis_server: Any
) -> None:
    layer = make(group_history={"room": (10, 60)})
    assert isinstance(layer, HistoryLayer)
    await layer.group_send("room", {"type": "n", "i": 0})
    before = (await layer.group_history("room")).position
    redis_server.restart()

    async def sent() -> bool:
        await layer.group_send("room", {"type": "n", "i": 1})
        return True

    await wait_for(sent, within=5)
    after = await layer.group_history("room")
    assert after.position is not None and before is not None
    assert after.position.epoch != before.epoch
    assert [m["i"] for m in after.messages] == [1] and after.position.offset == 1
    with pytest.raises(HistoryUnrecoverable) as caught:
        await layer.group_history("room", before)
    assert caught.value.reason == "epoch" and caught.value.position == after.position
