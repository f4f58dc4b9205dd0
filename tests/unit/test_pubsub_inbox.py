"""The pub/sub layer's local buffers and wire encoding, without Redis."""

from __future__ import annotations

import asyncio

import pytest
from fast_channels.layers.redis._transport.pipe import pack, pack_publish
from fast_channels.layers.redis.pubsub.inbox import Inbox
from redis.connection import Connection


def test_a_full_inbox_drops_the_oldest_and_says_so() -> None:
    inbox = Inbox(capacity=3)
    assert [inbox.put(bytes([i])) for i in range(5)] == [True, True, True, False, False]
    assert list(inbox.items) == [b"\x02", b"\x03", b"\x04"]


async def test_a_waiting_receiver_gets_the_message_directly() -> None:
    inbox = Inbox(capacity=1)
    loop = asyncio.get_running_loop()
    gone, waiting = loop.create_future(), loop.create_future()
    gone.cancel()  # a receiver that gave up is skipped
    inbox.waiters.extend([gone, waiting])
    assert inbox.put(b"hello")
    assert await waiting == b"hello"
    assert not inbox.items and not inbox.waiters


async def test_fail_wakes_every_receiver() -> None:
    inbox = Inbox(capacity=1)
    loop = asyncio.get_running_loop()
    waiters = [loop.create_future() for _ in range(2)]
    inbox.waiters.extend(waiters)
    inbox.fail(ConnectionError("closed"))
    assert all(isinstance(w.exception(), ConnectionError) for w in waiters)


def test_pack_publish_is_resp() -> None:
    assert pack_publish(b"ch", b"\x00\r\n") == (
        b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$3\r\n\x00\r\n\r\n"
    )


def test_pack_matches_redis_py() -> None:
    args = (b"EVALSHA", "sha", 2, "k:é", b"\x00\r\n", 1.5, -3)
    assert pack(*args) == b"".join(Connection().pack_command(*args))
    assert pack_publish(b"ch", b"x") == pack(b"PUBLISH", b"ch", b"x")


def test_pack_refuses_what_redis_cannot_take() -> None:
    with pytest.raises(TypeError, match="bool"):
        pack(b"SET", "k", True)
    with pytest.raises(TypeError, match="dict"):
        pack(b"SET", "k", {})  # type: ignore[arg-type]  # the mistake under test
