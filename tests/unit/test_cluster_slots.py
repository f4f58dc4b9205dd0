"""Redis Cluster hash slots, redirections and how their replies are classified (no I/O)."""

from __future__ import annotations

import binascii

import pytest
from fast_channels.layers.redis._transport.faults import Fault, classify
from fast_channels.layers.redis._transport.resp import Packed, bulk, pack
from fast_channels.layers.redis._transport.slots import (
    SlotTable,
    key_slot,
    redirection,
    tag,
)
from fast_channels.layers.redis.queue.scripts import group_key, queue_keys
from redis.exceptions import ResponseError


def test_key_slot_is_redis_crc16() -> None:
    # The check value of CRC-16/XMODEM, and the slot the cluster spec gives for it.
    assert binascii.crc_hqx(b"123456789", 0) == 0x31C3
    assert key_slot("123456789") == 0x31C3 % 16384 == 12739
    assert key_slot(b"123456789") == 12739


@pytest.mark.parametrize(
    ("key", "hashed"),
    [
        ("{user1000}.following", "user1000"),
        ("foo{bar}{zap}", "bar"),  # the first tag only
        ("foo{{bar}}zap", "{bar"),  # from the first "{" to the next "}"
        ("foo{}{bar}", "foo{}{bar}"),  # an empty tag: the whole key
        ("no-tag}{", "no-tag}{"),
    ],
)
def test_hash_tags_follow_the_cluster_spec(key: str, hashed: str) -> None:
    assert key_slot(key) == binascii.crc_hqx(hashed.encode(), 0) % 16384


def test_cluster_key_names_put_a_queue_or_group_in_its_names_slot() -> None:
    inbox, count = queue_keys("app", "specific.ab12!cd34", tagged=True)
    assert (inbox, count) == ("app:i:{specific.ab12!}", "app:n:{specific.ab12!}")
    assert key_slot(inbox) == key_slot(count) == key_slot("specific.ab12!")
    assert queue_keys("app", "orders", tagged=True) == ("app:c:{orders}", "")
    assert group_key("app", "room", tagged=True) == "app:g:{room}"
    assert key_slot(group_key("app", "room", tagged=True)) == key_slot("room")
    # A single server keeps the names existing deployments have.
    assert queue_keys("app", "orders") == ("app:c:orders", "")
    assert group_key("app", "room") == "app:g:room"
    assert tag("x") == "{x}"


def test_redirections_are_read_in_both_shapes() -> None:
    moved = redirection("MOVED", "MOVED 3999 127.0.0.1:6381")
    assert moved is not None and (moved.ask, moved.slot, moved.host, moved.port) == (
        False,
        3999,
        "127.0.0.1",
        6381,
    )
    ask = redirection("ASK", "3999 10.0.0.2:7000")  # redis-py's AskError strips the code
    assert ask is not None and ask.ask and ask.port == 7000
    assert redirection("ERR", "MOVED 1 h:2") is None
    assert redirection("MOVED", "garbled") is None


def test_slot_table_reads_cluster_slots_and_learns_from_moved() -> None:
    table = SlotTable()
    nodes: dict[tuple[str, int], int] = {}

    def node(host: str, port: int) -> int:
        return nodes.setdefault((host, port), len(nodes))

    reply = [
        [0, 5460, [b"127.0.0.1", 7000, b"id-a"], [b"127.0.0.1", 7003, b"id-d"]],
        [5461, 10922, [b"", 7001, b"id-b"]],  # no endpoint: the node that answered
        [10923, 16383, [b"127.0.0.1", 7002, b"id-c"]],
    ]
    masters = table.load(reply, ("10.9.9.9", 7001), node)
    assert table.loaded and len(masters) == 3
    assert table.owner(0) == nodes[("127.0.0.1", 7000)]
    assert table.owner(6000) == nodes[("10.9.9.9", 7001)]
    assert table.owner(16383) == nodes[("127.0.0.1", 7002)]
    table.moved(0, 2)
    assert table.owner(0) == 2


@pytest.mark.parametrize(
    ("reply", "fault"),
    [
        ("MOVED 3999 127.0.0.1:6381", Fault.FAILOVER),
        ("ASK 3999 127.0.0.1:6381", Fault.FAILOVER),
        ("CLUSTERDOWN The cluster is down", Fault.FAILOVER),
        ("CROSSSLOT Keys in request don't hash to the same slot", Fault.TRANSIENT),
    ],
)
def test_cluster_replies_are_classified(reply: str, fault: Fault) -> None:
    assert classify(ResponseError(reply)) is fault


def test_packed_arguments_are_spliced_in_with_their_count() -> None:
    members = Packed(bulk(b"a") + bulk(b"1") + bulk(b"b") + bulk(b"2"), 4)
    assert pack(b"EVALSHA", "sha", 0, members) == pack(b"EVALSHA", "sha", 0, "a", 1, "b", 2)
