"""Both Redis layers on a real Redis Cluster: arguments, key placement, round trips.

These leave the cluster's topology alone, so they share the session's cluster
(``redis_cluster``); resharding and failover are in ``test_cluster_topology.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import pytest
import redis
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.layers.redis._transport.slots import key_slot
from redis.asyncio import Connection

from .cluster_fixture import RedisCluster

pytestmark = pytest.mark.redis_cluster

AnyLayer = RedisChannelLayer | RedisPubSubChannelLayer


@pytest.fixture
async def make_layer(redis_cluster: RedisCluster) -> AsyncIterator[Callable[..., AnyLayer]]:
    """Build cluster layers with one seed and a prefix unique to the test; closed after it."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    made: list[AnyLayer] = []

    def make(cls: type[AnyLayer] = RedisChannelLayer, **kwargs: Any) -> AnyLayer:
        kwargs.setdefault("cluster_nodes", redis_cluster.seeds[:1])
        kwargs.setdefault("prefix", prefix)
        layer = cls(**kwargs)
        made.append(layer)
        return layer

    yield make
    for layer in made:
        await layer.close()


def _keys_everywhere(cluster: RedisCluster, pattern: str) -> dict[str, int]:
    """Every key matching ``pattern`` on every master -> the port of the master holding it."""
    found = {}
    for node in cluster.masters():
        with node.client() as client:
            for key in client.scan_iter(match=pattern, count=1000):
                found[key] = node.port
    return found


# Arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RedisChannelLayer, RedisPubSubChannelLayer])
@pytest.mark.parametrize(
    "other",
    [
        {"hosts": ["redis://localhost:6379"]},
        {"sentinels": [("localhost", 26379)], "service_name": "mymaster"},
    ],
)
def test_cluster_nodes_with_hosts_or_sentinels_is_a_type_error(
    cls: type[AnyLayer], other: dict[str, Any]
) -> None:
    with pytest.raises(TypeError, match=r"cluster_nodes=.* not both"):
        cls(cluster_nodes=["redis://localhost:7000"], **other)


@pytest.mark.parametrize("bad", [[], "not-a-list-of-nodes", ["unix:///tmp/redis.sock"]])
def test_cluster_nodes_must_name_tcp_nodes(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match=r"cluster_nodes|Redis URL|unix"):
        RedisChannelLayer(cluster_nodes=bad)


def test_building_a_cluster_layer_does_no_io() -> None:
    # Nothing listens there: construction must still succeed (layers register at import).
    layer = RedisChannelLayer(cluster_nodes=[("127.0.0.1", 1)])
    assert layer._conns.clustered


# Key placement -----------------------------------------------------------------------


async def test_each_channel_inbox_and_group_keeps_its_keys_in_one_slot(
    make_layer: Callable[..., AnyLayer], redis_cluster: RedisCluster
) -> None:
    layer = make_layer(group_history={"kept.*": (10, 60)})
    assert isinstance(layer, RedisChannelLayer)
    local = await layer.new_channel()
    for i in range(20):
        await layer.send(f"named.{i}", {"type": "m", "i": i})
    await layer.send(local, {"type": "local"})
    await layer.group_add("kept.room", local)
    await layer.group_add("kept.room", "named.0")
    await layer.presence_add("kept.room", local, {"name": "ada"})  # type: ignore[attr-defined]
    await layer.group_send("kept.room", {"type": "kept"})

    keys = _keys_everywhere(redis_cluster, f"{layer.prefix}:*")
    named = [k for k in keys if ":c:" in k]
    assert len(named) == 20
    assert {k for k in named} == {f"{layer.prefix}:c:{{named.{i}}}" for i in range(20)}
    # Named channels spread over the masters (20 names on 3 masters: all used).
    assert len({keys[k] for k in named}) == 3
    for key in named:  # each on the master its slot says
        name = key.split("{")[1].rstrip("}")
        assert redis_cluster.owner(key_slot(name)).port == keys[key]
    inbox = local.split("!")[0] + "!"
    inbox_keys = [f"{layer.prefix}:i:{{{inbox}}}", f"{layer.prefix}:n:{{{inbox}}}"]
    group_keys = [
        f"{layer.prefix}:g:{{kept.room}}",
        f"{layer.prefix}:p:{{kept.room}}",
        f"{layer.prefix}:hm:{{kept.room}}",
        f"{layer.prefix}:hs:{{kept.room}}",
    ]
    # The inbox list may be drained already (its reader pops at once); its count stays.
    for together, present in ((inbox_keys, inbox_keys[1:]), (group_keys, group_keys)):
        assert all(k in keys for k in present), (present, sorted(keys))
        assert len({key_slot(k) for k in together}) == 1
        assert {keys[k] for k in present} == {redis_cluster.owner(key_slot(together[0])).port}
    message = await layer.receive(local)
    assert message["type"] == "local"
    assert (await layer.receive(local))["type"] == "kept"
    assert [m["type"] for m in (await layer.group_history("kept.room")).messages] == ["kept"]  # type: ignore[attr-defined]


async def test_flush_empties_every_master(
    make_layer: Callable[..., AnyLayer], redis_cluster: RedisCluster
) -> None:
    layer = make_layer()
    for i in range(30):
        await layer.send(f"flushed.{i}", {"type": "m"})
    assert len(_keys_everywhere(redis_cluster, f"{layer.prefix}:*")) == 30
    await layer.flush()
    assert _keys_everywhere(redis_cluster, f"{layer.prefix}:*") == {}


async def test_options_and_passwords_reach_nodes_found_later(
    make_layer: Callable[..., AnyLayer], redis_cluster: RedisCluster
) -> None:
    """One seed with a password: the other masters, found at runtime, get it too."""
    password = "s3cret-cluster"
    nodes = redis_cluster.live()
    for node in nodes:
        with node.client() as client:
            client.config_set("masterauth", password)
            client.config_set("requirepass", password)
    try:
        seed = f"redis://:{password}@127.0.0.1:{nodes[0].port}"
        layer = make_layer(cluster_nodes=[seed])
        names = [f"auth.{i}" for i in range(12)]
        for name in names:
            await layer.send(name, {"type": "m"})
        assert {(await layer.receive(n))["type"] for n in names} == {"m"}
        pubsub = make_layer(RedisPubSubChannelLayer, cluster_nodes=[seed])
        channel = await pubsub.new_channel()
        await pubsub.send(channel, {"type": "p"})
        assert (await asyncio.wait_for(pubsub.receive(channel), 5))["type"] == "p"
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=nodes[1].port).ping()
    finally:
        for node in nodes:
            with redis.Redis(port=node.port, password=password) as client:
                client.config_set("requirepass", "")
                client.config_set("masterauth", "")


# Round trips -------------------------------------------------------------------------


class PortCountingConnection(Connection):
    """Counts writes to the socket per server port: one write is one round trip."""

    writes: ClassVar[dict[int, int]] = {}

    async def connect(self) -> None:
        await super().connect()  # type: ignore[no-untyped-call]
        transport: Any = self._writer.transport  # type: ignore[union-attr]
        if getattr(transport, "counted", False):
            return
        transport.counted = True
        port, write = self.port, transport.write

        def counted(data: Any) -> None:
            self.writes[port] = self.writes.get(port, 0) + 1
            write(data)

        transport.write = counted


async def _writes_per_node(operation: Any) -> dict[int, int]:
    before = dict(PortCountingConnection.writes)
    await operation
    after = PortCountingConnection.writes
    return {p: n - before.get(p, 0) for p, n in after.items() if n != before.get(p, 0)}


async def test_group_send_round_trips_per_node_do_not_grow_with_group_size(
    make_layer: Callable[..., AnyLayer],
) -> None:
    members = make_layer(capacity=10)
    sender = make_layer(connection_kwargs={"connection_class": PortCountingConnection})
    assert isinstance(members, RedisChannelLayer)
    counts = {}
    for size in (1, 10, 1000):
        group = f"size{size}"
        for i in range(size):  # process-local members share one inbox; named ones spread
            channel = await members.new_channel() if i % 2 else f"named.{size}.{i}"
            await members.group_add(group, channel)
        await sender.group_send(group, {"type": "connects, loads scripts and the slot table"})
        counts[size] = await _writes_per_node(sender.group_send(group, {"type": "hi"}))
    print(f"group_send writes per node by group size (cluster): {counts}")
    # Per node: one batch of per-slot scripts; the group's node also reads the members.
    assert all(n <= 2 for per_node in counts.values() for n in per_node.values())
    assert len(counts[1000]) == 3  # 500 named members span every master
    slots = {key_slot(f"named.1000.{i}") for i in range(0, 1000, 2)}
    print(f"(the 1000-member group's named members sit in {len(slots)} slots)")
    received = await asyncio.wait_for(members.receive("named.1000.0"), 5)
    assert received["type"] in ("hi", "connects, loads scripts and the slot table")


async def test_point_to_point_is_one_round_trip_once_the_slots_are_known(
    make_layer: Callable[..., AnyLayer],
) -> None:
    layer = make_layer(connection_kwargs={"connection_class": PortCountingConnection})
    for i in range(12):  # learn the slot table; open a pipe to every master
        await layer.send(f"warm.{i}", {"type": "w"})
    await asyncio.sleep(0.2)
    for i in range(12):
        assert sum((await _writes_per_node(layer.send(f"warm.{i}", {"type": "x"}))).values()) == 1


async def test_group_send_honours_capacity_per_member_across_slots(
    make_layer: Callable[..., AnyLayer],
) -> None:
    layer = make_layer(capacity=5, channel_capacity={"tiny.*": 1})
    assert isinstance(layer, RedisChannelLayer)
    local = await layer.new_channel()
    members = ["tiny.a", "tiny.b", "roomy.a", "roomy.b", local]
    for channel in members:
        await layer.group_add("caps", channel)
    await layer.group_send("caps", {"type": "first"})
    await layer.group_send("caps", {"type": "second"})  # the tiny ones are full: skipped
    assert layer.dropped_messages == 2
    for channel in members:
        expected = ["first"] if channel.startswith("tiny") else ["first", "second"]
        got = [(await asyncio.wait_for(layer.receive(channel), 5))["type"] for _ in expected]
        assert got == expected


async def test_memberships_and_presence_heal_after_the_cluster_comes_back_empty(
    make_layer: Callable[..., AnyLayer], redis_cluster: RedisCluster
) -> None:
    """The heartbeat re-asserts groups (one script per slot) on every master."""
    layer = make_layer(heartbeat_interval=0.2, member_timeout=3)
    assert isinstance(layer, RedisChannelLayer)
    channels = [await layer.new_channel(f"heal{i}") for i in range(3)]
    groups = [f"heal.room.{i}" for i in range(12)]  # spread over the masters
    for group in groups:
        for channel in channels:
            await layer.group_add(group, channel)
    await layer.presence_add(groups[0], channels[0], {"name": "ada"})  # type: ignore[attr-defined]
    receiving = [asyncio.ensure_future(layer.receive(c)) for c in channels]
    redis_cluster.flush()  # as after a restart without persistence
    await asyncio.sleep(1.0)  # several heartbeats
    for group in groups:
        await layer.group_send(group, {"type": "healed", "group": group})
    got = [await asyncio.wait_for(r, 5) for r in receiving]
    assert {m["type"] for m in got} == {"healed"}
    for channel in channels:  # every group reached every member again
        for _ in groups[1:]:
            assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "healed"
    assert set(await layer.presence(groups[0])) == {channels[0]}  # type: ignore[attr-defined]
