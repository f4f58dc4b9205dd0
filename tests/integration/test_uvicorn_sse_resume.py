"""An SSE client that drops its stream and comes back with ``Last-Event-ID`` misses nothing.

Real uvicorn, a real HTTP client, every layer type: messages keep being sent to
a resumable group while the client is away and while it reconnects; the client
must see each of them once, in order, across both streams, then live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fast_channels.consumer.sse import AsyncSseConsumer
from fast_channels.layers import BaseChannelLayer, InMemoryChannelLayer, register_channel_layer
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.testing import ServerSentEvent, SseParser
from starlette.applications import Starlette
from starlette.routing import Route

from tests.uvicorn_server import serve

GROUP = "feed-main"
HISTORY = {"feed-*": (500, 60)}
#: Messages sent in all; the client leaves after FIRST_READ of them.
TOTAL, FIRST_READ = 120, 15


class Feed(AsyncSseConsumer):
    history_group = GROUP
    keepalive_interval = None  # only events on the wire

    async def feed_item(self, event: dict[str, Any]) -> None:
        await self.send_event(str(event["n"]), event="item", id=self.position_id(event))


def make_layer(kind: str, request: pytest.FixtureRequest) -> BaseChannelLayer:
    if kind == "memory":
        return InMemoryChannelLayer(group_history=HISTORY)
    url = request.getfixturevalue("redis_url")
    prefix = f"sse{uuid.uuid4().hex[:8]}"
    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    return cls(hosts=[url], prefix=prefix, group_history=HISTORY)


@pytest.fixture(
    params=[
        "memory",
        pytest.param("queue", marks=pytest.mark.redis),
        pytest.param("pubsub", marks=pytest.mark.redis),
    ]
)
async def feed(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, BaseChannelLayer]]:
    layer = register_channel_layer("default", make_layer(request.param, request))
    app = Starlette(routes=[Route("/feed", Feed.as_asgi())])
    async with serve(app) as url:
        yield url.replace("ws://", "http://") + "/feed", layer
    with contextlib.suppress(Exception):
        await layer.flush()
    await layer.close()


async def events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    parser = SseParser()
    async for chunk in response.aiter_bytes():
        for event in parser.feed(chunk):
            if event.event != "message" or event.data:  # skip the opening comment
                yield event


async def read(stream: AsyncIterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    got = []
    async with asyncio.timeout(15):
        while len(got) < count:
            got.append(await anext(stream))
    return got


async def test_a_client_that_reconnects_with_last_event_id_misses_nothing(
    feed: tuple[str, BaseChannelLayer],
) -> None:
    url, layer = feed
    sent = asyncio.Event()

    async def sender() -> None:
        # Keeps sending while the client reads, leaves, and comes back.
        for n in range(TOTAL):
            await layer.group_send(GROUP, {"type": "feed.item", "n": n})
            await asyncio.sleep(0.004)
        sent.set()

    async with httpx.AsyncClient(timeout=15) as client:
        async with client.stream("GET", url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            task = asyncio.create_task(sender())
            first = await read(events(response), FIRST_READ)
        # The stream is closed here: the sender goes on while the client is away.
        await asyncio.sleep(0.1)
        last_id = first[-1].id
        assert last_id is not None and ":" in last_id
        headers = {"Last-Event-ID": last_id}
        async with client.stream("GET", url, headers=headers) as response:
            stream = events(response)
            rest = await read(stream, TOTAL - FIRST_READ)
            await sent.wait()
            await task
            # And then live: one more, nothing twice.
            await layer.group_send(GROUP, {"type": "feed.item", "n": TOTAL})
            [live] = await read(stream, 1)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await anext(stream)

    numbers = [int(e.data) for e in [*first, *rest, live]]
    assert numbers == list(range(TOTAL + 1))  # each once, in order, across both streams
    offsets = [int(str(e.id).split(":")[1]) for e in [*first, *rest, live]]
    assert offsets == list(range(1, TOTAL + 2))
    assert len({str(e.id).split(":")[0] for e in [*first, *rest, live]}) == 1  # one epoch


async def test_a_stale_last_event_id_gets_recovery_failed_then_live_events(
    feed: tuple[str, BaseChannelLayer],
) -> None:
    url, layer = feed
    await layer.group_send(GROUP, {"type": "feed.item", "n": 0})
    async with httpx.AsyncClient(timeout=15) as client:
        for bad, reason in (("0:1", "epoch"), ("garbage", "invalid")):
            async with client.stream("GET", url, headers={"Last-Event-ID": bad}) as response:
                stream = events(response)
                [failed] = await read(stream, 1)
                assert (failed.event, failed.data) == (
                    "recovery.failed",
                    f'{{"reason": "{reason}"}}',
                )
                # The stream joined the group before it said so: this one arrives live.
                await layer.group_send(GROUP, {"type": "feed.item", "n": 1})
                [live] = await read(stream, 1)
                assert live.data == "1"
