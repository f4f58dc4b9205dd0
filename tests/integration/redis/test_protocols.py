"""Both Redis layers on RESP2 and RESP3, whatever redis-py version runs the suite.

redis-py 8 speaks RESP3 unless told otherwise; 5.x to 7.x speak RESP2 unless
asked for ``protocol=3``. The layers choose RESP2 when the user does not say,
and work on either when the user does. ``./scripts/matrix`` runs this file on
every redis-py major, with and without hiredis.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from fast_channels.layers import BaseChannelLayer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.layers.redis._transport.subscriber import SUBSCRIBE_TIMEOUT

pytestmark = pytest.mark.redis

#: What redis-py pools add to their own ``connection_kwargs`` (8.x) or need (Sentinel).
POOL_STATE = {
    "maint_notifications_pool_handler",
    "maint_notifications_config",
    "orig_host_address",
    "orig_socket_timeout",
    "orig_socket_connect_timeout",
    "himport_registry",
    "connection_pool",
}
LAYERS = {"queue": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}
#: (how the protocol is given, the RESP version the server must see)
PROTOCOLS = {
    "default": ({}, None, 2),
    "kwargs-2": ({"protocol": 2}, None, 2),
    "kwargs-3": ({"protocol": 3}, None, 3),
    "url-3": ({}, "protocol=3", 3),
}


@pytest.fixture(params=list(LAYERS))
def layer_class(request: pytest.FixtureRequest) -> type[BaseChannelLayer]:
    cls: type[BaseChannelLayer] = LAYERS[request.param]
    return cls


@pytest.fixture(params=list(PROTOCOLS))
def protocol(request: pytest.FixtureRequest) -> tuple[dict[str, Any], str | None, int]:
    return PROTOCOLS[request.param]


@pytest.fixture
async def inspector(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, protocol=2)
    yield client
    await client.aclose()


def build(
    cls: type[BaseChannelLayer], redis_url: str, kwargs: dict[str, Any], query: str | None
) -> tuple[BaseChannelLayer, str]:
    """A layer whose every connection carries a client name unique to the test."""
    name = f"proto-{uuid.uuid4().hex[:8]}"
    url = f"{redis_url}{'&' if '?' in redis_url else '?'}{query}" if query else redis_url
    layer = cls(  # type: ignore[call-arg]
        hosts=[url], prefix=name, connection_kwargs={**kwargs, "client_name": name}
    )
    return layer, name


async def own_connections(inspector: aioredis.Redis, name: str) -> list[dict[str, Any]]:
    return [c for c in await inspector.client_list() if c.get("name") == name]


async def test_every_call_works_and_every_connection_speaks_the_chosen_protocol(
    layer_class: type[BaseChannelLayer],
    protocol: tuple[dict[str, Any], str | None, int],
    redis_url: str,
    inspector: aioredis.Redis,
) -> None:
    kwargs, query, resp = protocol
    layer, name = build(layer_class, redis_url, kwargs, query)
    async with layer:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "direct"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "direct"}

        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "group", "n": 1})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "group", "n": 1}

        # Pub/sub: flush drops what is already on the wire behind a barrier PING on
        # the subscriber connection, whose reply is [b"pong", token] over RESP2 and
        # the bare token over RESP3. An unrecognised reply is waited out for
        # SUBSCRIBE_TIMEOUT (and the message still dropped), so time it too.
        await layer.group_send("room", {"type": "before.flush"})
        started = time.monotonic()
        await layer.flush()
        took = time.monotonic() - started
        assert took < SUBSCRIBE_TIMEOUT, f"flush's barrier was waited out ({took:.1f}s)"
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "after.flush"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "after.flush"}

        connections = await own_connections(inspector, name)
        assert connections, "the layer's connections did not carry the client name"
        if all("resp" in c for c in connections):  # Redis 6.2 does not report it
            assert {int(c["resp"]) for c in connections} == {resp}, connections


async def test_decode_responses_from_the_user_cannot_break_the_layer(
    layer_class: type[BaseChannelLayer], redis_url: str
) -> None:
    layer = layer_class(  # type: ignore[call-arg]
        hosts=[redis_url],
        prefix=f"dec{uuid.uuid4().hex[:8]}",
        connection_kwargs={"decode_responses": True},
    )
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "bytes.stay.bytes", "blob": b"\xff\x00"})
        got = await asyncio.wait_for(layer.receive(channel), 5)
        assert got == {"type": "bytes.stay.bytes", "blob": b"\xff\x00"}
        if isinstance(layer, RedisChannelLayer):
            # A named channel's reader pops over the pool: the option must not reach it.
            await layer.send("jobs", {"type": "named", "blob": b"\xfe"})
            got = await asyncio.wait_for(layer.receive("jobs"), 5)
            assert got == {"type": "named", "blob": b"\xfe"}


@pytest.mark.parametrize("chosen", [{}, {"protocol": 3}], ids=["default", "protocol-3"])
async def test_dedicated_connections_carry_no_pool_state(
    redis_url: str, chosen: dict[str, Any]
) -> None:
    """Connections outside the pool are built from the user's options, nothing else.

    redis-py 8 pools add their own state to ``connection_kwargs`` (an import
    registry; over RESP3 also maintenance-notification handlers and ``orig_*``
    timeouts). A dedicated connection built by copying them would share that
    state, and, over RESP2 without hiredis, fail to connect ("Maintenance
    notifications are only supported with hiredis and RESP3 parsers").
    """
    layer = RedisChannelLayer(
        hosts=[redis_url], connection_kwargs={**chosen, "client_name": "mine"}
    )
    async with layer:
        await layer.send("named.x", {"type": "x"})  # opens the pool and the pipe
        conns = layer._conns  # the layer's shard connections
        pool = conns.client(0).connection_pool
        assert not POOL_STATE & set(conns.options[0]), conns.options[0]
        assert pool.connection_kwargs.get("client_name") == "mine"  # same user options
        dedicated = conns.dedicated(0)
        try:
            await dedicated.connect()  # type: ignore[no-untyped-call]
            await dedicated.send_command("PING")
            assert await dedicated.read_response() == b"PONG"
            # Nothing of the pool's own making is shared with the dedicated connection.
            pool_state = [  # objects (a str or a number is not state)
                v
                for k, v in pool.connection_kwargs.items()
                if k in POOL_STATE and not isinstance(v, str | int | float | type(None))
            ]
            shared = [k for k, v in vars(dedicated).items() if any(v is s for s in pool_state)]
            assert not shared, f"pool state in a dedicated connection: {shared}"
            handler = getattr(dedicated, "_maint_notifications_pool_handler", None)
            assert handler is None, "a pool's maintenance handler leaked into a dedicated one"
            assert dedicated.client_name == "mine"
            assert int(dedicated.protocol) == int(chosen.get("protocol", 2))
        finally:
            await dedicated.disconnect()
