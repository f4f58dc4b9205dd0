"""The queue layer's readers under each error reply a healthy-looking Redis can give.

One test per fault, injected into a private redis-server (see RECIPES.md):
``MASTERDOWN`` (a demoted master that refuses stale reads), ``BUSY`` (a long
script), ``MISCONF`` (a failed BGSAVE), ``NOPERM`` (an ACL), ``WRONGTYPE`` (a
foreign key). Each checks that the inbox reader and the named-channel readers
survive it, and that a pending ``receive()`` gets its message or a clear
``ChannelLayerConnectionError``, never nothing. None asserts a wall-clock bound.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.naming import non_local_name

from sandbox.redis_process import RedisProcess, free_port

from .conftest import QueueLayerFactory
from .test_queue_faults import until_sent

pytestmark = pytest.mark.redis
LOGGER = "fast_channels.layers.redis"
#: A socket timeout of 2 s makes the readers block 1 s per pop (half of it), so
#: they come back to the server often while a fault lasts.
SHORT_POPS = {"socket_timeout": 2.0}


@pytest.fixture
def admin(redis_server: RedisProcess) -> Iterator[redis.Redis]:
    with redis.Redis(port=redis_server.port) as client:
        yield client


async def both_receive(
    make_queue_layer: QueueLayerFactory, server: RedisProcess, fault: str
) -> tuple[str, asyncio.Task[object], asyncio.Task[object], object]:
    """A layer with a pending receive on a process-local and on a named channel."""
    layer = make_queue_layer(hosts=[server.url], connection_kwargs=SHORT_POPS)
    channel = await layer.new_channel()
    local = asyncio.create_task(layer.receive(channel), name=f"local {fault}")
    named = asyncio.create_task(layer.receive("jobs"), name=f"named {fault}")
    return channel, local, named, layer


async def both_blocked(server: RedisProcess, within: float = 10) -> None:
    """Wait until both readers block in their pops (BLMPOP on Redis 7, else BRPOP)."""
    async with aioredis.from_url(server.url) as raw:
        start = time.monotonic()
        while sum(c.get("cmd") in ("blmpop", "brpop") for c in await raw.client_list()) < 2:
            assert time.monotonic() - start < within, "the readers did not block"
            await asyncio.sleep(0.05)


async def deliver_both(layer: object, channel: str, local: asyncio.Task[object],
                       named: asyncio.Task[object]) -> None:  # fmt: skip
    await until_sent(lambda: layer.send(channel, {"type": "local"}))  # type: ignore[attr-defined]
    await until_sent(lambda: layer.send("jobs", {"type": "named"}))  # type: ignore[attr-defined]
    assert await asyncio.wait_for(local, 15) == {"type": "local"}
    assert await asyncio.wait_for(named, 15) == {"type": "named"}


async def until_both_refused(admin: redis.Redis, within: float = 15) -> None:
    """Wait until the server has refused a pop of each reader (per INFO commandstats)."""
    start = time.monotonic()
    while True:
        stats = admin.info("commandstats")
        refused = {
            name: int(stats.get(f"cmdstat_{name}", {}).get("rejected_calls", 0))
            for name in ("blmpop", "brpop")
        }
        # Redis 7: the inbox reader uses BLMPOP, the named one BRPOP; 6.2: both BRPOP.
        uses_blmpop = "cmdstat_blmpop" in stats
        if (min(refused.values()) >= 1) if uses_blmpop else refused["brpop"] >= 2:
            return
        assert time.monotonic() - start < within, f"the readers' pops were not refused: {refused}"
        await asyncio.sleep(0.05)


def reader_lines(caplog: pytest.LogCaptureFixture, code: str) -> list[str]:
    return [r.message for r in caplog.records if "reader of" in r.message and code in r.message]


async def test_masterdown_of_a_demoted_master_is_ridden_out(
    make_queue_layer: QueueLayerFactory,
    redis_server: RedisProcess,
    admin: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel, local, named, layer = await both_receive(make_queue_layer, redis_server, "MASTERDOWN")
    await both_blocked(redis_server)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        # A writable replica that refuses stale data answers MASTERDOWN (a read-only
        # one answers READONLY first, as test_queue_faults.py checks).
        admin.config_set("replica-serve-stale-data", "no")
        admin.config_set("replica-read-only", "no")
        admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))  # a master never seen
        try:
            admin.config_resetstat()
            await until_both_refused(admin)  # UNBLOCKED, then MASTERDOWN for the next pops
            assert "errorstat_MASTERDOWN" in admin.info("errorstats")
        finally:
            admin.execute_command("REPLICAOF", "NO", "ONE")
        await deliver_both(layer, channel, local, named)
    # UNBLOCKED, or MASTERDOWN for a reader whose pop had just timed out: once each.
    lines = reader_lines(caplog, "(failover)")
    assert len(lines) == 2, caplog.text


async def test_busy_with_a_long_script_is_retried(
    make_queue_layer: QueueLayerFactory,
    redis_server: RedisProcess,
    admin: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel, local, named, layer = await both_receive(make_queue_layer, redis_server, "BUSY")
    await both_blocked(redis_server)
    admin.config_set("lua-time-limit", 100)  # BUSY replies 0.1 s into a script
    spin = (
        "local t = tonumber(redis.call('TIME')[1]) "
        "repeat until tonumber(redis.call('TIME')[1]) - t >= 3 return 1"
    )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        admin.config_resetstat()
        with redis.Redis(port=redis_server.port) as spinner:
            # Blocked pops wait out a script (their timeouts are not processed
            # meanwhile): drop the readers' connections the moment before it, so
            # they reconnect and pop into it. The server answers nobody for 0.1 s,
            # then BUSY to everyone until the script ends.
            spinner.client_kill_filter(_type="normal", skipme=True)
            script = threading.Thread(target=lambda: spinner.eval(spin, 0))
            script.start()
            await asyncio.to_thread(script.join)
        lines = reader_lines(caplog, "BUSY")
        assert len(lines) == 2 and all("(transient)" in line for line in lines), caplog.text
        with redis.Redis(port=redis_server.port) as fresh:
            assert fresh.info("errorstats")["errorstat_BUSY"]["count"] >= 2
        await deliver_both(layer, channel, local, named)


async def test_misconf_after_a_failed_bgsave_is_retried(
    make_queue_layer: QueueLayerFactory,
    redis_server: RedisProcess,
    admin: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel, local, named, layer = await both_receive(make_queue_layer, redis_server, "MISCONF")
    await both_blocked(redis_server)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        # The server's working directory vanishes: BGSAVE cannot write its file (even as
        # root), and with stop-writes-on-bgsave-error (the default) writes get MISCONF.
        admin.config_set("save", "3600 1")  # MISCONF needs a save policy (tests run without)
        shutil.rmtree(str(admin.config_get("dir")["dir"]))
        admin.bgsave()
        start = time.monotonic()
        while admin.info("persistence")["rdb_last_bgsave_status"] != "err":
            assert time.monotonic() - start < 10, "BGSAVE did not fail"
            await asyncio.sleep(0.05)
        try:
            admin.config_resetstat()
            await until_both_refused(admin)  # a pop is a write: both readers' are refused
            assert "errorstat_MISCONF" in admin.info("errorstats")
        finally:
            admin.config_set("stop-writes-on-bgsave-error", "no")  # the operator's fix
        await deliver_both(layer, channel, local, named)
    lines = reader_lines(caplog, "MISCONF")
    assert len(lines) == 2 and all("(transient)" in line for line in lines), caplog.text


async def test_noperm_fails_that_named_receive_and_spares_the_rest(
    make_queue_layer: QueueLayerFactory, redis_server: RedisProcess, admin: redis.Redis
) -> None:
    admin.execute_command(
        "ACL", "SETUSER", "app", "on", ">pw", "+@all", "~asgi:i:*", "~asgi:n:*",
        "~asgi:g:*", "~asgi:c:jobs",
    )  # fmt: skip
    url = f"redis://app:pw@127.0.0.1:{redis_server.port}"
    layer = make_queue_layer(hosts=[url], prefix="asgi")
    channel = await layer.new_channel()
    with pytest.raises(ChannelLayerConnectionError, match=r"'secret'.*(NOPERM|no permissions)"):
        await asyncio.wait_for(layer.receive("secret"), 10)
    await layer.send(channel, {"type": "local"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "local"}
    await layer.send("jobs", {"type": "named"})
    assert await asyncio.wait_for(layer.receive("jobs"), 5) == {"type": "named"}


async def test_wrongtype_inbox_fails_its_receives_then_heals(
    make_queue_layer: QueueLayerFactory,
    redis_server: RedisProcess,
    admin: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = make_queue_layer(hosts=[redis_server.url], connection_kwargs=SHORT_POPS)
    channel = await layer.new_channel()
    inbox = f"{layer.prefix}:i:{non_local_name(channel)}"
    admin.set(inbox, "a foreign key where the inbox should be")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        with pytest.raises(ChannelLayerConnectionError, match="WRONGTYPE"):
            await asyncio.wait_for(layer.receive(channel), 10)
        await layer.send("jobs", {"type": "named"})  # the rest is served meanwhile
        assert await asyncio.wait_for(layer.receive("jobs"), 5) == {"type": "named"}
        admin.delete(inbox)  # the operator's fix: the reader, still retrying, heals
        await until_sent(lambda: layer.send(channel, {"type": "local"}))
        assert await asyncio.wait_for(layer.receive(channel), 10) == {"type": "local"}
    assert len(reader_lines(caplog, "WRONGTYPE")) == 1, caplog.text  # logged once
