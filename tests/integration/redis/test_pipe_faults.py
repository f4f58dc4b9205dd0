"""The shared pipe under faults: cancelled writes, frozen servers, huge messages, failover.

Each test reproduces a fault against real redis-server processes (SIGSTOP,
SIGKILL, ``CONFIG SET``, ``REPLICAOF`` behind a TCP proxy that flips to a new
primary, as a managed service's address does).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from fast_channels.exceptions import (
    ChannelLayerConnectionError,
    MessageTooLarge,
)
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from fast_channels.layers.redis._transport.connections import RedisConnections
from fast_channels.layers.redis._transport.pipe import MAX_COMMAND_BYTES, pack

from sandbox.redis_process import RedisProcess, free_port

pytestmark = pytest.mark.redis


def connections(url: str, reply_timeout: float = 5.0) -> RedisConnections:
    return RedisConnections.from_arguments(
        url,
        sentinels=None,
        service_name=None,
        sentinel_kwargs=None,
        connection_kwargs=None,
        reply_timeout=reply_timeout,
    )


@contextlib.contextmanager
def frozen(server: RedisProcess) -> Iterator[None]:
    """The server stops answering, sockets stay open (SIGSTOP), until the block ends."""
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        if server.proc is not None:
            server.proc.send_signal(signal.SIGCONT)


async def test_cancelling_a_large_write_leaves_the_other_calls_alone(redis_url: str) -> None:
    conns = connections(redis_url)
    pipe = conns.pipe(0)
    counter, big = f"count:{uuid.uuid4()}", f"big:{uuid.uuid4()}"
    try:
        assert await pipe.call(pack(b"PING")) == b"PONG"
        before = [asyncio.ensure_future(pipe.call(pack(b"INCR", counter))) for _ in range(5)]
        large = asyncio.ensure_future(pipe.call(pack(b"SET", big, b"x" * (12 << 20))))
        after = [asyncio.ensure_future(pipe.call(pack(b"INCR", counter))) for _ in range(5)]
        await asyncio.sleep(0)  # every call has written its command (or is writing it)
        large.cancel()
        replies = await asyncio.gather(*before, *after, return_exceptions=True)
        # Redis ran every INCR, so every caller is told so: none of them may see
        # "unreachable" and retry (that would count twice).
        assert all(isinstance(reply, int) for reply in replies), replies
        assert sorted(replies) == list(range(1, 11))  # type: ignore[type-var]
        assert await pipe.call(pack(b"GET", counter)) == b"10"
        assert await pipe.call(pack(b"STRLEN", big)) == 12 << 20  # its bytes all went out
    finally:
        await pipe.call(pack(b"DEL", counter, big))
        await conns.close()


async def test_a_large_write_to_a_frozen_server_fails_within_the_reply_timeout(
    redis_server: RedisProcess,
) -> None:
    reply_timeout = 1.0
    conns = connections(redis_server.url, reply_timeout)
    pipe = conns.pipe(0)
    try:
        assert await pipe.call(pack(b"PING")) == b"PONG"
        with frozen(redis_server):
            start = time.monotonic()
            # Far more than the socket buffers hold: the write cannot finish.
            call = pipe.call(pack(b"SET", "big", b"x" * (12 << 20)))
            with pytest.raises(ChannelLayerConnectionError, match="did not answer within"):
                await asyncio.wait_for(call, 30)  # the old code waited for SIGCONT
            elapsed = time.monotonic() - start
        # The documented bound is reply_timeout; a loaded machine gets slack on top.
        assert elapsed < reply_timeout + 10
        assert await pipe.call(pack(b"PING")) == b"PONG"  # and it heals once Redis answers
    finally:
        await conns.close()


async def test_a_cancelled_connect_leaves_no_stale_state(redis_server: RedisProcess) -> None:
    conns = connections(redis_server.url, reply_timeout=2.0)
    pipe = conns.pipe(0)
    try:
        with frozen(redis_server):  # TCP connects, the handshake never answers
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pipe.call(pack(b"PING")), 0.3)
            redis_server.kill()  # the abandoned handshake now fails, with nobody waiting
        await asyncio.sleep(0.3)
        redis_server.start()
        assert await pipe.call(pack(b"PING")) == b"PONG"
    finally:
        await conns.close()


@pytest.mark.parametrize("layer_class", [RedisChannelLayer, RedisPubSubChannelLayer])
async def test_an_oversized_message_raises_message_too_large_before_sending(
    redis_url: str, layer_class: type[RedisChannelLayer | RedisPubSubChannelLayer]
) -> None:
    layer = layer_class(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:10]}")
    try:
        channel = await layer.new_channel()
        big = {"type": "big", "data": b"x" * MAX_COMMAND_BYTES}
        for attempt in (layer.send(channel, big), layer.group_send("g", big)):
            with pytest.raises(MessageTooLarge, match="bytes") as raised:
                await attempt
            assert raised.value.limit == MAX_COMMAND_BYTES
            assert raised.value.size is not None and raised.value.size > MAX_COMMAND_BYTES
        await layer.send(channel, {"type": "small"})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "small"
    finally:
        await layer.close()


@pytest.mark.parametrize("protocol", [2, 3])  # CONFIG GET answers a map under RESP3
async def test_a_server_with_a_smaller_bulk_limit_raises_message_too_large(
    redis_server: RedisProcess, protocol: int
) -> None:
    with redis.Redis(port=redis_server.port) as admin:
        admin.config_set("proto-max-bulk-len", "1mb")
    layer = RedisChannelLayer(hosts=[redis_server.url], connection_kwargs={"protocol": protocol})
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "first"})  # the pipe is connected
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "first"
        # Sent between small ones on the shared connection: the server would
        # answer a protocol error and close it, failing the calls behind it.
        small = [layer.send(channel, {"type": "small", "n": n}) for n in range(5)]
        big = layer.send(channel, {"type": "big", "data": b"x" * (2 << 20)})
        results = await asyncio.gather(*small[:2], big, *small[2:], return_exceptions=True)
        raised = results.pop(2)
        assert results == [None] * 5, results  # every small send went through
        assert isinstance(raised, MessageTooLarge), raised
        assert "proto-max-bulk-len" in str(raised)
        assert raised.size is not None and raised.size > 2 << 20
        assert raised.limit == 1 << 20
        for n in range(5):
            assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "small", "n": n}
    finally:
        await layer.close()


class FlipProxy:
    """A TCP proxy to one Redis that can flip to another, as a failover address does.

    Connections open before a flip stay with the old server (as with a DNS change).
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FlipProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(self._pump(src, dst))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            dst.close()


@pytest.fixture
async def new_primary() -> AsyncIterator[RedisProcess]:
    with RedisProcess() as server:
        yield server


async def test_an_endpoint_flip_to_a_new_primary_reconnects(
    redis_server: RedisProcess, new_primary: RedisProcess
) -> None:
    # Sends only: the readers' own failover handling is tested with them.
    async with FlipProxy(redis_server.port) as proxy:
        layer = RedisChannelLayer(hosts=[proxy.url], prefix="flip")
        try:
            await layer.send("jobs", {"type": "before"})
            # The failover: the address leads to the new primary, the old one is demoted.
            proxy.target = new_primary.port
            with redis.Redis(port=redis_server.port) as old:
                old.replicaof("127.0.0.1", new_primary.port)
            sent = 0
            for n in range(5):
                try:  # at most a connection error, never a raw redis-py exception
                    await layer.send("jobs", {"type": "after", "n": n})
                    await layer.group_add("g", "jobs")
                    sent += 1
                except ChannelLayerConnectionError:
                    await asyncio.sleep(0.2)
            assert sent >= 4, f"{5 - sent} of 5 rounds failed after the flip"
            await layer.group_send("g", {"type": "to the group"})
            with redis.Redis(port=new_primary.port) as primary:
                assert primary.llen("flip:c:jobs") == sent + 1  # all went to the new primary
        finally:
            await layer.close()


async def group_send_until(
    sender: RedisPubSubChannelLayer, receiver: RedisPubSubChannelLayer, channel: str, within: float
) -> float:
    """``sender`` group_sends probes every 100 ms until ``channel`` (of ``receiver``) gets one.

    Returns the seconds it took; fails after ``within``.
    """
    start = time.monotonic()
    pending = asyncio.ensure_future(receiver.receive(channel))
    try:
        while not pending.done():
            if time.monotonic() - start > within:
                raise AssertionError(f"no group message arrived within {within}s")
            with contextlib.suppress(ChannelLayerConnectionError):
                await sender.group_send("room", {"type": "probe"})
            await asyncio.wait({pending}, timeout=0.1)
        assert pending.result() == {"type": "probe"}
        return time.monotonic() - start
    finally:
        pending.cancel()


async def test_pubsub_follows_an_endpoint_flip_without_sentinel(
    redis_server: RedisProcess, new_primary: RedisProcess
) -> None:
    """A plain REPLICAOF behind a flipped address: no Sentinel kills our connections.

    The demoted server still takes PUBLISH and SUBSCRIBE (neither is a write),
    so a process that kept its connections would publish where nobody else
    listens. The layer checks its server's role every ``role_check_interval``
    seconds and moves its publisher and subscriber when it is a replica.
    """
    async with FlipProxy(redis_server.port) as proxy:
        old = RedisPubSubChannelLayer(hosts=[proxy.url], prefix="flip")
        new: RedisPubSubChannelLayer | None = None
        try:
            old_channel = await old.new_channel()
            await old.group_add("room", old_channel)
            await group_send_until(old, old, old_channel, 10)
            # The failover: the address leads to the new primary, the old one follows it.
            proxy.target = new_primary.port
            with redis.Redis(port=redis_server.port) as demoted:
                demoted.replicaof("127.0.0.1", new_primary.port)
            new = RedisPubSubChannelLayer(hosts=[proxy.url], prefix="flip")
            new_channel = await new.new_channel()
            await new.group_add("room", new_channel)
            # Documented: within role_check_interval (5 s) plus a reconnect; slack for load.
            within = old.role_check_interval + 15
            took = await group_send_until(old, new, new_channel, within)
            # The old subscriber moves too (a demoted server still passes its
            # primary's PUBLISH on to its own subscribers: not good enough).
            start = time.monotonic()
            with redis.Redis(port=new_primary.port) as primary:
                while primary.pubsub_numsub("flip:group:room") != [(b"flip:group:room", 2)]:
                    assert time.monotonic() - start < within, "the subscriber did not move"
                    await asyncio.sleep(0.05)
            moved = time.monotonic() - start
            with redis.Redis(port=redis_server.port) as demoted:
                assert demoted.pubsub_numsub("flip:group:room") == [(b"flip:group:room", 0)]
            await group_send_until(new, old, old_channel, within)
            print(
                f"old process reached the new one after {took:.2f}s, "
                f"its subscriber moved {moved:.2f}s later"
            )
        finally:
            await old.close()
            if new is not None:
                await new.close()


async def test_queue_receives_follow_an_endpoint_flip(
    redis_server: RedisProcess, new_primary: RedisProcess
) -> None:
    """Blocked readers on the demoted server get UNBLOCKED and reconnect through the address.

    A named receive, a process-local one and group delivery of a layer built
    before the flip resume with the same layer object, fed by one built after.
    """
    async with FlipProxy(redis_server.port) as proxy:
        old = RedisChannelLayer(hosts=[proxy.url], prefix="flipq")
        new: RedisChannelLayer | None = None
        try:
            channel = await old.new_channel()
            await old.group_add("g", channel)
            named = asyncio.ensure_future(old.receive("jobs"))
            local = asyncio.ensure_future(old.receive(channel))
            with redis.Redis(port=redis_server.port) as raw:
                start = time.monotonic()
                while sum(c["cmd"] in ("brpop", "blmpop") for c in raw.client_list()) < 2:
                    assert time.monotonic() - start < 10, "the readers never blocked"
                    await asyncio.sleep(0.05)
            proxy.target = new_primary.port
            with redis.Redis(port=redis_server.port) as demoted:
                demoted.replicaof("127.0.0.1", new_primary.port)
            new = RedisChannelLayer(hosts=[proxy.url], prefix="flipq")
            await new.send("jobs", {"type": "job"})
            await new.send(channel, {"type": "direct"})
            assert await asyncio.wait_for(named, 15) == {"type": "job"}
            assert await asyncio.wait_for(local, 15) == {"type": "direct"}
            # The membership lived on the old server's data (gone with the resync):
            # the heartbeat asserts it again on the new primary.
            deadline = time.monotonic() + old.heartbeat_interval + 15
            got = None
            while got is None:
                assert time.monotonic() < deadline, "group delivery never resumed"
                await new.group_send("g", {"type": "group"})
                with contextlib.suppress(TimeoutError):
                    got = await asyncio.wait_for(old.receive(channel), 0.5)
            assert got == {"type": "group"}
        finally:
            await old.close()
            if new is not None:
                await new.close()
