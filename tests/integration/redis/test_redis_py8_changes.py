"""redis-py 8's other changes, checked against both Redis layers on whatever redis-py runs.

- Connections default to a 5 s ``socket_timeout`` (redis-py 5 to 7: none). A
  receiver waiting on a quiet channel (the subscriber, the inbox reader's
  BLMPOP, a named channel's BRPOP) must not be cut by it, nor reconnect.
- Servers without ``HELLO`` (Redis < 6): the layers speak RESP2 unless told
  otherwise, so they never send it, with or without a password.
- Sentinel connections would speak RESP3 by default: the layers' sentinel
  clients and data connections speak what the user chose, and both work.

The matrix's ``redis8`` cell runs this file on the newest redis-py 8 (its
``tests/integration/redis`` path); the locked suite runs it on redis-py 5.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from fast_channels.layers import BaseChannelLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from sandbox.redis_process import RedisProcess

from .conftest import SentinelCluster

pytestmark = pytest.mark.redis

LAYERS = {"queue": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}
#: redis-py 8's default ``socket_timeout`` (``redis/_defaults.py``), in seconds.
REDIS_PY8_SOCKET_TIMEOUT = 5.0
#: How long the receivers stay quiet: past that default, with a margin.
QUIET = REDIS_PY8_SOCKET_TIMEOUT + 1.5


@pytest.fixture(params=list(LAYERS))
def layer_class(request: pytest.FixtureRequest) -> type[BaseChannelLayer]:
    cls: type[BaseChannelLayer] = LAYERS[request.param]
    return cls


@pytest.fixture
async def inspector(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, protocol=2)
    yield client
    await client.aclose()


async def connection_ids(client: aioredis.Redis, name: str) -> set[str]:
    return {c["id"] for c in await client.client_list() if c.get("name") == name}


async def receive_warm(layer: BaseChannelLayer, channel: str) -> None:
    """Receive on ``channel`` once (pub/sub drops what is sent before it subscribes)."""
    task = asyncio.create_task(layer.receive(channel))
    async with asyncio.timeout(5):
        while not task.done():
            await layer.send(channel, {"type": "warm"})
            await asyncio.wait([task], timeout=0.1)
    assert task.result() == {"type": "warm"}


async def every_call_works(layer: BaseChannelLayer) -> None:
    """new_channel, send, receive, group_add, group_send and flush, in that order."""
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "direct"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "direct"}
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "group"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "group"}
    await layer.flush()
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "after.flush"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "after.flush"}


@pytest.mark.slow
async def test_quiet_receivers_outlive_the_default_socket_timeout(
    layer_class: type[BaseChannelLayer], redis_url: str, inspector: aioredis.Redis
) -> None:
    """Receivers idle past 5 s keep their connections and still deliver.

    A connection cut by a read timeout would be rebuilt by the layer and the
    messages would still arrive, so the test also checks that every connection
    the layer had before the quiet spell is still there after it.
    """
    name = f"quiet-{uuid.uuid4().hex[:8]}"
    layer = layer_class(  # type: ignore[call-arg]
        hosts=[redis_url], prefix=name, connection_kwargs={"client_name": name}
    )
    async with layer:
        process = await layer.new_channel()  # queue: the inbox reader's BLMPOP
        named = f"named.{name}"  # queue: a BRPOP on a pool connection
        for channel in (process, named):  # every receiver connected and served once
            await receive_warm(layer, channel)
        waiting = [asyncio.create_task(layer.receive(c)) for c in (process, named)]
        await asyncio.sleep(0.2)  # both receives are blocked in their reads
        before = await connection_ids(inspector, name)
        assert before, "the layer's connections did not carry the client name"

        await asyncio.sleep(QUIET)
        assert not any(task.done() for task in waiting), [t.result() for t in waiting if t.done()]
        after = await connection_ids(inspector, name)
        assert before <= after, f"connections dropped while quiet: {sorted(before - after)}"

        await layer.send(process, {"type": "to.process"})
        await layer.send(named, {"type": "to.named"})
        got = await asyncio.wait_for(asyncio.gather(*waiting), 5)
        assert got == [{"type": "to.process"}, {"type": "to.named"}]


@pytest.mark.parametrize("password", [None, "s3cret"], ids=["no-auth", "auth"])
@pytest.mark.parametrize("protocol", [{}, {"protocol": 2}], ids=["default", "protocol-2"])
async def test_a_server_without_hello_works(
    layer_class: type[BaseChannelLayer], password: str | None, protocol: dict[str, Any]
) -> None:
    """``HELLO`` renamed away: what Redis 5 answers to it (an unknown command)."""
    with RedisProcess(extra_args=["--rename-command", "HELLO", ""]) as server:
        url = server.url
        if password:  # set after start: the start-up check PINGs without a password
            async with aioredis.Redis.from_url(url, protocol=2) as admin:
                await admin.config_set("requirepass", password)
            url = f"redis://:{password}@127.0.0.1:{server.port}"
        with pytest.raises(aioredis.ResponseError, match="unknown command"):  # the premise
            async with aioredis.Redis.from_url(url, protocol=2) as probe:
                await probe.execute_command("HELLO", "3")
        layer = layer_class(  # type: ignore[call-arg]
            hosts=[url], prefix=f"nohello{uuid.uuid4().hex[:8]}", connection_kwargs=protocol
        )
        async with layer:
            await every_call_works(layer)


@pytest.mark.slow
async def test_sentinel_layers_on_either_protocol(sentinel_cluster: SentinelCluster) -> None:
    """Both layers through Sentinel, protocol left to the default (RESP2) and forced to 3."""
    master = aioredis.Redis(port=sentinel_cluster.master.port, protocol=2)
    try:
        for cls in LAYERS.values():
            for protocol, resp in (({}, 2), ({"protocol": 3}, 3)):
                name = f"sent-{uuid.uuid4().hex[:8]}"
                layer = cls(  # type: ignore[call-arg]
                    sentinels=sentinel_cluster.sentinels,
                    service_name=sentinel_cluster.service_name,
                    prefix=name,
                    connection_kwargs={**protocol, "client_name": name},
                )
                async with layer:
                    await every_call_works(layer)
                    own = [c for c in await master.client_list() if c.get("name") == name]
                    assert own, "the layer's connections did not carry the client name"
                    if all("resp" in c for c in own):  # Redis 6.2 does not report it
                        assert {int(c["resp"]) for c in own} == {resp}, (cls.__name__, own)
    finally:
        await master.aclose()
