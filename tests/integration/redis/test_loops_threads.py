"""Both Redis layers from any event loop and any thread: nothing leaks, nothing is orphaned.

Connection counts are read from outside, with ``CLIENT LIST`` on a plain
client: every connection of the layer under test carries a unique
``client_name``, so connections of other tests never blur the count.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

pytestmark = pytest.mark.redis

Layer = RedisChannelLayer | RedisPubSubChannelLayer
LAYERS = {"queue": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}
CALLS = 1000


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


def make_layer(kind: str, redis_url: str, **kwargs: Any) -> Layer:
    """A layer whose every connection is named after its (unique) prefix."""
    prefix = f"loops{uuid.uuid4().hex[:10]}"
    return LAYERS[kind](  # type: ignore[no-any-return]
        hosts=[redis_url],
        prefix=prefix,
        connection_kwargs={"client_name": prefix},
        **kwargs,
    )


def connections(raw: redis.Redis, layer: Layer) -> int:
    """Server-side connections of ``layer``, counted by the server."""
    return sum(1 for c in raw.client_list() if c.get("name") == layer.prefix)


def settled_connections(raw: redis.Redis, layer: Layer, at_most: int) -> int:
    """The count once the server has processed closes in flight (at most 5 s)."""
    deadline = time.monotonic() + 5
    count = connections(raw, layer)
    while count > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
        count = connections(raw, layer)
    return count


def calls(layer: Layer) -> dict[str, Callable[[], None]]:
    """The ways synchronous code sends, side by side (the guide documents all three)."""
    message = {"type": "job.done"}
    return {
        "asyncio_run": lambda: asyncio.run(layer.send("jobs.done", message)),
        "async_to_sync": lambda: async_to_sync(layer.group_send)("watchers", message),
        "send_sync": lambda: layer.send_sync("jobs.done", message),
    }


@pytest.mark.parametrize("pattern", ["asyncio_run", "async_to_sync", "send_sync"])
@pytest.mark.parametrize("kind", ["queue", "pubsub"])
def test_a_thousand_sync_calls_keep_connections_flat(
    kind: str, pattern: str, redis_url: str, raw: redis.Redis
) -> None:
    # capacity: the queue layer keeps what nobody receives; 1,000 must fit.
    layer = make_layer(kind, redis_url, capacity=CALLS + 10)
    call = calls(layer)[pattern]
    peak = 0
    for done in range(1, CALLS + 1):
        call()
        if done % 100 == 0:
            peak = max(peak, connections(raw, layer))
    # Each call's loop closed its connections; a close may still be in flight
    # at the server when sampled, so a few, never a growing number.
    assert peak <= 3, f"{peak} connections open at a sample point"
    assert settled_connections(raw, layer, at_most=0) == 0
    assert layer._conns.loop_count == 0  # no per-loop entry outlives its loop


@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_close_in_a_script_thread_leaves_the_app_loop_subscribed(
    kind: str, redis_url: str, raw: redis.Redis
) -> None:
    layer = make_layer(kind, redis_url)
    try:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)

        async def script() -> None:
            async with layer:  # closes what this thread's loop opened, and only that
                await layer.group_send("room", {"type": "from.script"})

        await asyncio.to_thread(asyncio.run, script())
        received = await asyncio.wait_for(layer.receive(channel), 5)
        assert received == {"type": "from.script"}
        # The app loop's state survived the script's close(): later messages arrive too.
        await asyncio.to_thread(async_to_sync(layer.group_send), "room", {"type": "later"})
        assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "later"}
        if kind == "pubsub":
            group_key = f"{layer.prefix}:group:room"
            assert dict(raw.pubsub_numsub(group_key)) == {group_key.encode(): 1}
    finally:
        await layer.close()


@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_many_threads_send_sync_at_once(kind: str, redis_url: str, raw: redis.Redis) -> None:
    threads, per_thread = 12, 25
    total = threads * per_thread
    layer = make_layer(kind, redis_url, capacity=total + 10)
    channel = await layer.new_channel()
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            try:
                layer.send_sync(channel, {"type": "count", "n": n, "i": i})
            except BaseException as exc:  # collected, asserted below: none at all
                errors.append(exc)

    received: list[tuple[int, int]] = []

    async def collect() -> None:
        while len(received) < total:
            message = await layer.receive(channel)
            received.append((message["n"], message["i"]))

    collector = asyncio.create_task(collect())
    await asyncio.sleep(0)  # the pub/sub layer delivers only to a waiting receive
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        await asyncio.to_thread(lambda: [t.start() for t in pool] and [t.join() for t in pool])
    finally:
        sys.setswitchinterval(interval)
    try:
        await asyncio.wait_for(collector, 30)
        assert errors == []
        # Exactly once each: no caller saw an error after sending, so none retried.
        assert sorted(received) == [(n, i) for n in range(threads) for i in range(per_thread)]
        assert layer._conns.loop_count == 1  # only this test's loop
    finally:
        collector.cancel()
        await layer.close()
    assert settled_connections(raw, layer, at_most=0) == 0


async def test_a_receipt_counted_after_close_reopens_nothing(redis_url: str) -> None:
    """A receive finishing while ``close()`` runs must not restart this loop's state.

    Its receipt would schedule a report; a report after the reader stopped would
    build the loop's connections again (during a loop's shutdown, after
    ``shutdown_asyncgens()``, that was a warning and a task destroyed pending).
    """
    layer = make_layer("queue", redis_url, capacity=1)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "one"})
    assert (await layer.receive(channel))["type"] == "one"
    reader = layer._state().inbox_for(channel)
    await layer.close()
    assert layer._conns.loop_count == 0
    reader.received(channel)  # half the capacity waiting: a report would start at once
    await asyncio.sleep(0.1)
    assert layer._conns.loop_count == 0


# Closing a loop without shutting it down destroys its pending tasks and leaves its
# sockets to the garbage collector, as documented: those reports are the expected cost.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("kind", ["queue", "pubsub"])
def test_loops_closed_without_shutdown_are_forgotten(
    kind: str, redis_url: str, raw: redis.Redis
) -> None:
    """``loop.close()`` alone skips the clean-up hook: the next new loop purges the entry."""
    layer = make_layer(kind, redis_url, capacity=100)
    reports: list[dict[str, Any]] = []
    checked = asyncio.BaseEventLoop.call_exception_handler  # the conftest's checker
    asyncio.BaseEventLoop.call_exception_handler = (  # type: ignore[method-assign]
        lambda self, context: reports.append(context)
    )
    try:
        for _ in range(20):
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(layer.send("jobs.done", {"type": "job.done"}))
            finally:
                loop.close()  # no shutdown_asyncgens(): the layer is not told
        assert layer._conns.loop_count == 1  # only the last closed loop is still listed
        asyncio.run(layer.send("jobs.done", {"type": "job.done"}))
        assert layer._conns.loop_count == 0
        gc.collect()  # the forgotten loops' tasks and sockets go when collected
    finally:
        asyncio.BaseEventLoop.call_exception_handler = checked  # type: ignore[method-assign]
    assert {r.get("message") for r in reports} <= {"Task was destroyed but it is pending!"}
    assert settled_connections(raw, layer, at_most=0) == 0


@pytest.mark.parametrize("pattern", ["asyncio_run", "async_to_sync_threads"])
@pytest.mark.parametrize("kind", ["queue", "pubsub"])
def test_presence_of_ended_loops_does_not_accumulate(
    kind: str, pattern: str, redis_url: str, raw: redis.Redis
) -> None:
    """Presences live in the one per-loop cache: a loop that ended takes its own along.

    Each call runs in a new loop that adds a presence (starting that loop's
    presence heartbeat). A per-loop table of its own, keyed by loop, kept every
    such loop alive through the heartbeat task it held.
    """
    loops_per_run = 20
    layer = make_layer(kind, redis_url)
    seen: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def present(n: int) -> None:
        seen.append(weakref.ref(asyncio.get_running_loop()))
        channel = f"member{n}!x"
        await layer.presence_add("room", channel, {"n": n})
        assert channel in await layer.presence("room")

    if pattern == "asyncio_run":
        for n in range(loops_per_run):
            asyncio.run(present(n))
    else:  # a new loop per call, in several threads at once
        pool = [
            threading.Thread(target=async_to_sync(present), args=(n,)) for n in range(loops_per_run)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    gc.collect()
    assert len(seen) == loops_per_run
    alive = sum(1 for ref in seen if ref() is not None)
    assert alive == 0, f"{alive} of {loops_per_run} ended loops still referenced"
    assert layer._conns.loop_count == 0
    assert settled_connections(raw, layer, at_most=0) == 0
