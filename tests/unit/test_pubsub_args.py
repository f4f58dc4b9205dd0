"""RedisPubSubChannelLayer constructor: refused arguments, validation, no I/O."""

from __future__ import annotations

import pytest
from fast_channels.layers.redis import RedisPubSubChannelLayer
from fast_channels.layers.redis._transport.faults import is_failover
from fast_channels.layers.redis._transport.subscriber import BACKOFF, BACKOFF_CAP
from redis.exceptions import BusyLoadingError, ReadOnlyError, ResponseError

from sandbox.redis_process import free_port


@pytest.mark.parametrize("name", ["expiry", "group_expiry"])
def test_storage_arguments_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(TypeError, match=rf"does not take '{name}'.*RedisChannelLayer"):
        RedisPubSubChannelLayer(**{name: 60})


def test_unknown_argument_is_refused() -> None:
    with pytest.raises(TypeError, match="unexpected argument 'capcity'"):
        RedisPubSubChannelLayer(capcity=10)


@pytest.mark.parametrize("capacity", [0, -1, 1.5])
def test_capacity_must_be_a_positive_int(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        RedisPubSubChannelLayer(capacity=capacity)  # type: ignore[arg-type]


def test_callbacks_must_be_callable() -> None:
    with pytest.raises(TypeError, match="on_reconnect must be callable"):
        RedisPubSubChannelLayer(on_reconnect="reconnect")  # type: ignore[arg-type]


def test_construction_does_no_io() -> None:
    # Nothing listens on this port: building the layer must still succeed.
    layer = RedisPubSubChannelLayer(hosts=[f"redis://127.0.0.1:{free_port()}"], prefix="chat")
    assert layer.prefix == "chat"
    assert layer.capacity == 100


def test_the_guides_example_constructs() -> None:
    RedisPubSubChannelLayer(hosts=["redis://localhost:6379"], prefix="chat")


def test_sentinel_arguments_are_accepted() -> None:
    RedisPubSubChannelLayer(
        sentinels=[("sentinel-1", 26379)],
        service_name="mymaster",
        sentinel_kwargs={"password": "s"},
        connection_kwargs={"password": "r"},
    )


def test_channel_capacity_sets_per_channel_buffers() -> None:
    layer = RedisPubSubChannelLayer(capacity=5, channel_capacity={"big.*": 500})
    assert layer.get_capacity("big.one") == 500
    assert layer.get_capacity("small") == 5


def test_backoff_is_capped_and_grows() -> None:
    assert BACKOFF.compute(0) <= 0.05
    assert all(BACKOFF.compute(n) <= BACKOFF_CAP for n in range(17))
    assert max(BACKOFF.compute(10) for _ in range(50)) > BACKOFF.compute(0)


def test_failover_replies_are_told_apart_from_other_error_replies() -> None:
    failover = [
        ReadOnlyError("You can't write against a read only replica."),
        BusyLoadingError("Redis is loading the dataset in memory"),
        ResponseError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is no"),
        ResponseError("UNBLOCKED force unblock from blocking operation"),
    ]
    assert all(is_failover(exc) for exc in failover)
    others = [ResponseError("NOPERM no permissions"), ResponseError("OOM"), RuntimeError("x")]
    assert not any(is_failover(exc) for exc in others)
