"""Round trips per call, counted on the wire, so a regression shows up as a number."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from redis.asyncio import Connection

from .conftest import QueueLayerFactory

pytestmark = pytest.mark.redis


class CountingConnection(Connection):
    """A redis-py connection that counts writes to its socket: one write is one round trip.

    Counted at the transport, because the pipes write there directly (whole
    commands, see ``_transport/pipe.py``) and redis-py goes through ``writelines``.
    """

    writes: ClassVar[int] = 0

    async def connect(self) -> None:
        await super().connect()  # type: ignore[no-untyped-call]
        transport: Any = self._writer.transport  # type: ignore[union-attr]
        if getattr(transport, "counted", False):  # connect() runs again at each checkout
            return
        transport.counted = True
        write, writelines = transport.write, transport.writelines
        busy = False

        def counted(send: Any) -> Any:
            def wrapper(data: Any) -> None:
                nonlocal busy
                if not busy:  # writelines may call write: one write either way
                    type(self).writes += 1
                busy, was = True, busy
                try:
                    send(data)
                finally:
                    busy = was

            return wrapper

        transport.write, transport.writelines = counted(write), counted(writelines)


async def round_trips(operation: Any) -> int:
    before = CountingConnection.writes
    await operation
    return CountingConnection.writes - before


@pytest.mark.parametrize("shards", [1, 2])
async def test_group_send_round_trips_do_not_grow_with_group_size(
    make_queue_layer: QueueLayerFactory, redis_url: str, shards: int
) -> None:
    hosts = [f"{redis_url}/{db + 1}" for db in range(shards)]
    members = make_queue_layer(hosts=hosts, capacity=10)
    sender = make_queue_layer(
        hosts=hosts, connection_kwargs={"connection_class": CountingConnection}
    )
    counts = {}
    for size in (1, 10, 1000):
        group = f"size{size}"
        for i in range(size):  # process-local members share one inbox; named ones spread
            channel = await members.new_channel() if i % 2 else f"named.{size}.{i}"
            await members.group_add(group, channel)
        await sender.group_send(group, {"type": "connects and loads scripts"})
        counts[size] = await round_trips(sender.group_send(group, {"type": "hi"}))
    print(f"group_send round trips by group size ({shards} shard(s)): {counts}")
    # One script per shard, plus one to read members when they span shards.
    # One script per shard (plus one to read the members when several shards hold queues).
    bound = 1 if shards == 1 else 1 + shards
    assert max(counts.values()) <= bound
    assert counts[1000] == counts[10]


async def test_point_to_point_round_trips(make_queue_layer: QueueLayerFactory) -> None:
    layer = make_queue_layer(connection_kwargs={"connection_class": CountingConnection})
    await layer.send("warm.up", {"type": "connect and load the script first"})
    await layer.receive("warm.up")  # named channels pop over a pooled connection: open it
    assert await round_trips(layer.send("rt.named", {"type": "x"})) == 1
    assert await round_trips(layer.group_add("g", "rt.named")) == 1
    assert await round_trips(layer.group_discard("g", "rt.named")) == 1
    assert await round_trips(layer.receive("rt.named")) == 1
