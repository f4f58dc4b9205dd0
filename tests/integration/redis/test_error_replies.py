"""Error replies reach callers of the layers as the library's exceptions, cause chained."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from fast_channels.exceptions import (
    ChannelLayerError,
    RedisOutOfMemoryError,
    RedisWrongTypeError,
)
from fast_channels.layers.redis import RedisChannelLayer

from sandbox.redis_process import RedisProcess

pytestmark = pytest.mark.redis


@pytest.fixture
def admin(redis_server: RedisProcess) -> Iterator[redis.Redis]:
    with redis.Redis(port=redis_server.port) as client:
        yield client


async def test_out_of_memory_raises_the_librarys_error_then_heals(
    redis_server: RedisProcess, admin: redis.Redis
) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url])
    try:
        await layer.send("jobs", {"type": "first"})  # connected, scripts loaded
        # (group_send is not refused: Redis lets a script that already wrote
        # (its expired-member cleanup) go on writing, to keep it atomic.)
        admin.config_set("maxmemory", "1")
        try:
            attempts = {
                "send": lambda: layer.send("jobs", {"type": "refused"}),
                "group_add": lambda: layer.group_add("g2", "jobs"),
            }
            for name, attempt in attempts.items():
                with pytest.raises(RedisOutOfMemoryError, match="maxmemory") as raised:
                    await attempt()
                    pytest.fail(f"{name} did not raise")
                assert isinstance(raised.value.__cause__, redis.ResponseError)
                assert raised.value.code == "OOM"
        finally:
            admin.config_set("maxmemory", "0")
        await layer.send("jobs", {"type": "after"})
        assert admin.llen("asgi:c:jobs") == 2
    finally:
        await layer.close()


async def test_a_foreign_key_under_the_prefix_raises_wrong_type(redis_url: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    layer = RedisChannelLayer(hosts=[redis_url], prefix=prefix)
    try:
        with redis.Redis.from_url(redis_url) as client:
            client.set(f"{prefix}:g:lobby", "not a group")
        with pytest.raises(RedisWrongTypeError, match="prefix"):
            await layer.group_add("lobby", "jobs")
        with pytest.raises(ChannelLayerError):
            await layer.group_discard("lobby", "jobs")
    finally:
        await layer.flush()
        await layer.close()


async def test_a_server_that_forgot_its_scripts_still_runs_them(
    redis_server: RedisProcess, admin: redis.Redis
) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url])
    try:
        await layer.send("jobs", {"type": "one"})
        admin.script_flush()  # NOSCRIPT next time: the layer re-sends the source
        await layer.send("jobs", {"type": "two"})
        assert admin.llen("asgi:c:jobs") == 2
    finally:
        await layer.close()
