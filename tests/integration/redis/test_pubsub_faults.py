"""RedisPubSubChannelLayer under faults other than a dead server: error replies,
a failing delivery, messages nobody in this process can decode.

Each test talks to a private redis-server; none asserts a wall-clock bound.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.redis import RedisPubSubChannelLayer
from fast_channels.layers.redis._transport import subscriber
from fast_channels.layers.redis.pubsub.inbox import Inbox

from sandbox.redis_process import RedisProcess

pytestmark = [pytest.mark.redis]


async def receive_all(layer: RedisPubSubChannelLayer, channel: str, n: int) -> list[Any]:
    return [(await asyncio.wait_for(layer.receive(channel), 10))["n"] for _ in range(n)]


async def test_an_error_reply_fails_its_subscribe_and_spares_the_rest(
    redis_server: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NOPERM (an ACL user not allowed one group) is an error reply, not an outage."""
    monkeypatch.setattr(subscriber, "SUBSCRIBE_TIMEOUT", 1.0)
    with redis.Redis(port=redis_server.port) as admin:
        admin.execute_command(
            "ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all",
            "resetchannels", "&asgi:specific*", "&asgi:group:ok",
        )  # fmt: skip
    url = f"redis://app:pw@127.0.0.1:{redis_server.port}"
    disconnects: list[str] = []
    layer = RedisPubSubChannelLayer(hosts=[url], on_disconnect=lambda: disconnects.append("x"))
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("ok", channel)
        with pytest.raises(
            ChannelLayerConnectionError, match="NoPermissionError: this user has no permissions"
        ) as refused:
            await layer.group_add("forbidden", channel)
        assert isinstance(refused.value.__cause__, redis.exceptions.NoPermissionError)
        for n in range(20):
            await layer.send(channel, {"type": "direct", "n": n})
            await layer.group_send("ok", {"type": "group", "n": n})
        got = await receive_all(layer, channel, 40)
        assert sorted(got) == sorted([*range(20), *range(20)])
        # The connection was never lost: no reconnect dropped messages in between.
        assert disconnects == []


async def test_a_failing_delivery_costs_one_message_not_the_reader(
    redis_server: RedisProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Anything but a connection error once killed the reader, and receive() hung."""
    original = Inbox.put
    failures = [RuntimeError("a bug in delivery")]

    def flaky_put(self: Inbox, data: bytes) -> bool:
        if failures:
            raise failures.pop()
        return original(self, data)

    async with RedisPubSubChannelLayer(hosts=[redis_server.url]) as layer:
        channel = await layer.new_channel()
        monkeypatch.setattr(Inbox, "put", flaky_put)
        with caplog.at_level(logging.ERROR):
            await layer.send(channel, {"type": "lost", "n": 0})
            for n in range(1, 6):
                await layer.send(channel, {"type": "kept", "n": n})
            assert await receive_all(layer, channel, 5) == [1, 2, 3, 4, 5]
        assert "a bug in delivery" in caplog.text


@pytest.mark.parametrize(
    "foreign",
    [
        {"symmetric_encryption_keys": ["another key"]},
        {"serializer": "json"},
    ],
    ids=["other-key", "other-serializer"],
)
async def test_an_undecodable_group_message_is_skipped_by_every_member(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture, foreign: dict[str, Any]
) -> None:
    ours = RedisPubSubChannelLayer(hosts=[redis_server.url], symmetric_encryption_keys=["ours"])
    theirs = RedisPubSubChannelLayer(hosts=[redis_server.url], **foreign)
    async with ours, theirs:
        members = [await ours.new_channel() for _ in range(3)]
        for member in members:
            await ours.group_add("room", member)
        with caplog.at_level(logging.ERROR):
            await theirs.group_send("room", {"type": "sealed.elsewhere", "n": -1})
            with redis.Redis(port=redis_server.port) as raw:  # decodes, but not to a message
                raw.publish("asgi:group:room", b"\x01")
            await ours.group_send("room", {"type": "chat", "n": 1})
            for member in members:
                assert await receive_all(ours, member, 1) == [1]
        for member in members:
            assert f"undecodable message on channel {member!r}" in caplog.text


async def test_resubscribing_into_a_busy_server_retries_until_subscribed(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """A BUSY reply to the resubscription after a reconnect must not leave it unsubscribed."""
    reconnects: list[str] = []
    layer = RedisPubSubChannelLayer(
        hosts=[redis_server.url], on_reconnect=lambda: reconnects.append("x")
    )
    async with layer:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "before", "n": 0})
        assert await receive_all(layer, channel, 1) == [0]
        spin = (
            "local t = tonumber(redis.call('TIME')[1]) "
            "repeat until tonumber(redis.call('TIME')[1]) - t >= 2 return 1"
        )
        with redis.Redis(port=redis_server.port) as admin:
            admin.config_set("lua-time-limit", 100)  # BUSY replies 0.1 s into a script
            # Drop the subscriber's connection the moment before the script: it
            # reconnects and resubscribes into it (BUSY replies, the socket stays up).
            admin.client_kill_filter(_type="pubsub")
            await asyncio.to_thread(admin.eval, spin, 0)
            errors = admin.info("errorstats")
        assert "errorstat_BUSY" in errors, "the subscriber did not resubscribe into the script"
        start = asyncio.get_running_loop().time()
        while not reconnects:  # resubscribed at last (on_reconnect fires once all are back)
            assert asyncio.get_running_loop().time() - start < 10, "never resubscribed"
            await asyncio.sleep(0.05)
        for n in range(1, 4):
            await layer.group_send("room", {"type": "after", "n": n})
            await layer.send(channel, {"type": "direct", "n": -n})
        assert sorted(await receive_all(layer, channel, 6)) == [-3, -2, -1, 1, 2, 3]
