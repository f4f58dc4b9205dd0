"""A history that went back within its epoch gets a new epoch at the next write.

What a failover to a replica that missed the newest writes leaves behind (the
real failover is in ``test_history_failover.py``): the group's meta says offset 2
while this process has already seen offset 4. Here the state is made directly,
on one Redis, for both Redis layers.
"""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from fast_channels.exceptions import HistoryUnrecoverable
from fast_channels.layers.base import BaseChannelLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.layers.redis._group_state.scripts import group_keys

pytestmark = pytest.mark.redis

GROUP = "room-a"


@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_the_next_write_after_the_history_went_back_starts_a_new_epoch(
    kind: str, redis_url: str
) -> None:
    prefix = f"reg{uuid.uuid4().hex[:8]}"
    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    layer: BaseChannelLayer = cls(
        hosts=[redis_url], prefix=prefix, group_history={"room-*": (100, 60)}
    )
    async with layer, aioredis.from_url(redis_url) as client:
        for n in range(4):
            await layer.group_send(GROUP, {"type": "chat.message", "n": n})
        seen = (await layer.group_history(GROUP)).position  # type: ignore[attr-defined]
        assert seen is not None and seen.offset == 4
        keys = group_keys(prefix, GROUP)
        await client.hset(keys.meta, "o", 2)  # as a replica that missed two writes has it
        assert await client.xdel(keys.stream, "0-3", "0-4") == 2

        await layer.group_send(GROUP, {"type": "chat.message", "n": 4})
        now = (await layer.group_history(GROUP)).position  # type: ignore[attr-defined]
        assert now is not None and now.epoch != seen.epoch and now.offset == 1
        with pytest.raises(HistoryUnrecoverable) as caught:
            await layer.group_history(GROUP, seen)  # type: ignore[attr-defined]
        assert caught.value.reason == "epoch"
        await layer.flush()
