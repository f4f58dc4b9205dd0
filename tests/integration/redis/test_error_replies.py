"""Error replies reach callers of the layers as the library's exceptions, cause chained."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest
import redis
from fast_channels.exceptions import (
    ChannelLayerError,
    RedisOutOfMemoryError,
    RedisWrongTypeError,
)
from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

from sandbox.redis_process import RedisProcess, free_port

Layer = RedisChannelLayer | RedisPubSubChannelLayer

pytestmark = pytest.mark.redis


@pytest.fixture
def admin(redis_server: RedisProcess) -> Iterator[redis.Redis]:
    with redis.Redis(port=redis_server.port) as client:
        yield client


async def test_out_of_memory_raises_the_librarys_error_then_heals(
    redis_server: RedisProcess, admin: redis.Redis
) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url])
    try:
        await layer.send("jobs", {"type": "first"})  # connected, scripts loaded
        # (group_send is not refused: Redis lets a script that already wrote
        # (its expired-member cleanup) go on writing, to keep it atomic.)
        admin.config_set("maxmemory", "1")
        try:
            attempts = {
                "send": lambda: layer.send("jobs", {"type": "refused"}),
                "group_add": lambda: layer.group_add("g2", "jobs"),
            }
            for name, attempt in attempts.items():
                with pytest.raises(RedisOutOfMemoryError, match="maxmemory") as raised:
                    await attempt()
                    pytest.fail(f"{name} did not raise")
                assert isinstance(raised.value.__cause__, redis.ResponseError)
                assert raised.value.code == "OOM"
        finally:
            admin.config_set("maxmemory", "0")
        await layer.send("jobs", {"type": "after"})
        assert admin.llen("asgi:c:jobs") == 2
    finally:
        await layer.close()


async def test_a_foreign_key_under_the_prefix_raises_wrong_type(redis_url: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    layer = RedisChannelLayer(hosts=[redis_url], prefix=prefix)
    try:
        with redis.Redis.from_url(redis_url) as client:
            client.set(f"{prefix}:g:lobby", "not a group")
        with pytest.raises(RedisWrongTypeError, match="prefix"):
            await layer.group_add("lobby", "jobs")
        with pytest.raises(ChannelLayerError):
            await layer.group_discard("lobby", "jobs")
    finally:
        await layer.flush()
        await layer.close()


async def test_a_server_that_forgot_its_scripts_still_runs_them(
    redis_server: RedisProcess, admin: redis.Redis
) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url])
    try:
        await layer.send("jobs", {"type": "one"})
        admin.script_flush()  # NOSCRIPT next time: the layer re-sends the source
        await layer.send("jobs", {"type": "two"})
        assert admin.llen("asgi:c:jobs") == 2
    finally:
        await layer.close()


def public_calls(layer: Layer, local: str) -> dict[str, Callable[[], Awaitable[object]]]:
    """Every public method of both Redis layers that talks to Redis."""
    message = {"type": "probe"}
    return {
        "send(named)": lambda: layer.send("jobs", message),
        "send(local)": lambda: layer.send(local, message),
        "receive(named)": lambda: asyncio.wait_for(layer.receive("jobs"), 3),
        "new_channel": layer.new_channel,
        "group_add": lambda: layer.group_add("room", local),
        "group_send": lambda: layer.group_send("room", message),
        "group_send(history)": lambda: layer.group_send("kept", message),
        "group_history": lambda: layer.group_history("kept"),
        "presence_add": lambda: layer.presence_add("room", local, {"n": 1}),
        "presence": lambda: layer.presence("room"),
        "presence_discard": lambda: layer.presence_discard("room", local),
        "group_discard": lambda: layer.group_discard("room", local),
        "release_channel": lambda: layer.release_channel(local),
        "flush": layer.flush,
    }


def demote(admin: redis.Redis) -> None:
    admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))


def heal_demotion(admin: redis.Redis) -> None:
    admin.execute_command("REPLICAOF", "NO", "ONE")


FAULTS: dict[str, tuple[Callable[[redis.Redis], None], Callable[[redis.Redis], None]]] = {
    "OOM": (lambda a: a.config_set("maxmemory", "1"), lambda a: a.config_set("maxmemory", "0")),
    "READONLY": (demote, heal_demotion),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", ["queue", "pubsub"])
async def test_no_redis_py_exception_reaches_a_caller(
    kind: str, fault: str, redis_server: RedisProcess, admin: redis.Redis
) -> None:
    """Every public call under real error replies: a result or the library's exception."""
    cls = RedisChannelLayer if kind == "queue" else RedisPubSubChannelLayer
    layer = cls(
        hosts=[redis_server.url],
        prefix=f"e{uuid.uuid4().hex[:8]}",
        group_history={"kept": (5, 60.0)},
    )
    try:
        local = await layer.new_channel()
        await layer.group_add("room", local)
        await layer.group_send("kept", {"type": "warm"})  # connected, scripts loaded
        start, heal = FAULTS[fault]
        start(admin)
        outcomes: dict[str, str] = {}
        try:
            for name, call in public_calls(layer, local).items():
                try:
                    await call()
                    outcomes[name] = "ok"
                except TimeoutError:
                    outcomes[name] = "waited"  # receive(): nothing to get, no error
                except ChannelLayerError as exc:
                    assert exc.__cause__ is not None or "Redis" in str(exc), (name, exc)
                    outcomes[name] = type(exc).__name__
                except redis.RedisError as exc:
                    outcomes[name] = f"RAW {type(exc).__name__}: {exc}"
        finally:
            heal(admin)
        print(f"\n{kind} under {fault}: {outcomes}")
        raw = {name: outcome for name, outcome in outcomes.items() if outcome.startswith("RAW")}
        assert raw == {}
        assert any(outcome != "ok" for outcome in outcomes.values()), "the fault did nothing"
    finally:
        await layer.close()
