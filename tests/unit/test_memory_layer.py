"""InMemoryChannelLayer: behaviour specific to the in-memory backend.

The behaviour every layer shares is in ``tests/contract``; this file covers
capacity, expiry, copying, cancellation races and bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest
from fast_channels.exceptions import ChannelFull
from fast_channels.layers import BaseChannelLayer, InMemoryChannelLayer

SHORT = 0.05  # seconds: a short expiry so expiry tests stay fast


async def recv(layer: BaseChannelLayer, channel: str, within: float = 1.0) -> dict[str, Any]:
    return await asyncio.wait_for(layer.receive(channel), within)


async def assert_empty(layer: BaseChannelLayer, channel: str) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.05)


# Construction ---------------------------------------------------------------------


def test_defaults() -> None:
    layer = InMemoryChannelLayer()
    assert (layer.expiry, layer.group_expiry, layer.capacity) == (60, 86400, 100)
    assert layer.dropped_messages == 0
    assert "groups" in layer.extensions


def test_unknown_argument_raises_type_error() -> None:
    with pytest.raises(TypeError):
        InMemoryChannelLayer(hosts=["redis://x"])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        InMemoryChannelLayer(60)  # type: ignore[call-arg]


@pytest.mark.parametrize("kwargs", [{"expiry": 0}, {"expiry": -1}, {"group_expiry": 0}])
def test_non_positive_expiry_raises(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be a positive number of seconds"):
        InMemoryChannelLayer(**kwargs)


def test_bad_capacity_raises() -> None:
    with pytest.raises(ValueError, match="capacity must be a positive int"):
        InMemoryChannelLayer(capacity=0)


def test_layer_missing_an_abstract_method_fails_at_instantiation() -> None:
    class Incomplete(BaseChannelLayer):
        async def send(self, channel: str, message: dict[str, Any]) -> None:
            pass

    with pytest.raises(TypeError, match="abstract method"):
        Incomplete()  # type: ignore[abstract]


# Point to point -------------------------------------------------------------------


async def test_fifo_per_channel() -> None:
    layer = InMemoryChannelLayer()
    for i in range(10):
        await layer.send("a", {"type": "m", "i": i})
        await layer.send("b", {"type": "m", "i": -i})
    assert [(await recv(layer, "a"))["i"] for _ in range(10)] == list(range(10))
    assert [(await recv(layer, "b"))["i"] for _ in range(10)] == [-i for i in range(10)]


async def test_waiting_receiver_is_woken_by_send() -> None:
    layer = InMemoryChannelLayer()
    task = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "hello"})
    assert await task == {"type": "hello"}


async def test_concurrent_receivers_on_one_channel_get_distinct_messages() -> None:
    layer = InMemoryChannelLayer()
    tasks = [asyncio.create_task(recv(layer, "shared")) for _ in range(5)]
    await asyncio.sleep(0)
    for i in range(5):
        await layer.send("shared", {"type": "m", "i": i})
    got = sorted(m["i"] for m in await asyncio.gather(*tasks))
    assert got == [0, 1, 2, 3, 4]


async def test_send_raises_channel_full_at_capacity_and_keeps_what_was_queued() -> None:
    layer = InMemoryChannelLayer(capacity=3)
    for i in range(3):
        await layer.send("c", {"type": "m", "i": i})
    with pytest.raises(ChannelFull, match="'c' is full"):
        await layer.send("c", {"type": "m", "i": 3})
    assert [(await recv(layer, "c"))["i"] for _ in range(3)] == [0, 1, 2]
    await layer.send("c", {"type": "m", "i": 4})  # room again after receiving
    assert (await recv(layer, "c"))["i"] == 4


async def test_capacity_does_not_apply_to_a_waiting_receiver() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    task = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "one"})  # handed over, not queued
    await layer.send("c", {"type": "two"})  # queued
    assert await task == {"type": "one"}
    assert await recv(layer, "c") == {"type": "two"}


async def test_channel_capacity_glob_and_regex_patterns() -> None:
    layer = InMemoryChannelLayer(
        capacity=5, channel_capacity={"small.*": 1, re.compile(r"^medium\d$"): 2}
    )
    limits = {"small.one": 1, "medium7": 2, "other": 5}
    for channel, limit in limits.items():
        for _ in range(limit):
            await layer.send(channel, {"type": "m"})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "m"})


async def test_expired_messages_are_never_delivered() -> None:
    layer = InMemoryChannelLayer(expiry=SHORT)
    await layer.send("c", {"type": "old"})
    await asyncio.sleep(SHORT * 2)
    await layer.send("c", {"type": "new"})
    assert await recv(layer, "c") == {"type": "new"}
    await assert_empty(layer, "c")


async def test_expired_messages_free_capacity() -> None:
    layer = InMemoryChannelLayer(expiry=SHORT, capacity=2)
    await layer.send("c", {"type": "m"})
    await layer.send("c", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("c", {"type": "m"})
    await asyncio.sleep(SHORT * 2)
    await layer.send("c", {"type": "fresh"})
    assert await recv(layer, "c") == {"type": "fresh"}


async def test_abandoned_channels_are_forgotten_once_their_messages_expire() -> None:
    layer = InMemoryChannelLayer(expiry=SHORT)
    for i in range(200):
        await layer.send(f"abandoned.{i}", {"type": "m"})
    assert len(layer._channels) == 200  # white-box: the memory we want released
    await asyncio.sleep(SHORT * 2)
    await layer.send("live", {"type": "m"})  # any call sweeps what is due
    assert set(layer._channels) == {"live"}


async def test_new_channel_names() -> None:
    layer = InMemoryChannelLayer()
    names = {await layer.new_channel() for _ in range(100)}
    assert len(names) == 100
    assert all(re.fullmatch(r"specific\.inmemory![0-9a-f]+", n) for n in names)
    assert (await layer.new_channel("chat.room")).startswith("chat.room.inmemory!")


@pytest.mark.parametrize("prefix", ["bad prefix", "a!b", "p" * 90])
async def test_new_channel_with_a_bad_prefix(prefix: str) -> None:
    with pytest.raises(TypeError, match="ASCII letters"):
        await InMemoryChannelLayer().new_channel(prefix)


async def test_invalid_names_and_messages_raise_type_error() -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.send("bad name", {"type": "m"})
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.receive("bad name")
    with pytest.raises(TypeError, match="must be a dict"):
        await layer.send("c", "hello")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'type'"):
        await layer.send("c", {"text": "hi"})
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.group_add("bad group", "c")
    with pytest.raises(TypeError, match="must be a dict"):
        await layer.group_send("g", ["type"])  # type: ignore[arg-type]
    await assert_empty(layer, "c")


# Copying ----------------------------------------------------------------------------


async def test_sender_mutating_its_message_after_send_changes_nothing() -> None:
    layer = InMemoryChannelLayer()
    message: dict[str, Any] = {"type": "m", "items": [1, 2], "meta": {"k": "v"}}
    await layer.send("c", message)
    message["items"].append(3)
    message["meta"]["k"] = "changed"
    assert await recv(layer, "c") == {"type": "m", "items": [1, 2], "meta": {"k": "v"}}


async def test_group_members_receive_independent_copies() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.group_send("g", {"type": "m", "items": [1]})
    first = await recv(layer, "a")
    first["items"].append("mutated by a")
    assert await recv(layer, "b") == {"type": "m", "items": [1]}


async def test_a_message_that_cannot_be_copied_is_rejected_at_send() -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(TypeError, match="could not be copied"):
        await layer.send("c", {"type": "m", "callback": lambda: None})
    await assert_empty(layer, "c")


# Cancellation -----------------------------------------------------------------------


async def test_cancelled_waiting_receive_does_not_swallow_the_next_message() -> None:
    layer = InMemoryChannelLayer()
    task = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await layer.send("c", {"type": "after"})
    assert await recv(layer, "c") == {"type": "after"}


async def test_receive_cancelled_after_being_handed_a_message_puts_it_back() -> None:
    layer = InMemoryChannelLayer()
    task = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)  # the receive is now waiting on its future
    await layer.send("c", {"type": "first"})  # hands the message to that future...
    await layer.send("c", {"type": "second"})
    task.cancel()  # ...and the task is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await recv(layer, "c") == {"type": "first"}
    assert await recv(layer, "c") == {"type": "second"}


async def test_wait_for_timeouts_lose_nothing() -> None:
    layer = InMemoryChannelLayer()
    for _ in range(5):
        await assert_empty(layer, "c")
    await layer.send("c", {"type": "m"})
    assert await recv(layer, "c") == {"type": "m"}


# Groups -----------------------------------------------------------------------------


async def test_group_send_reaches_members_and_discard_stops_delivery() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.group_add("other", "c")
    await layer.group_send("g", {"type": "one"})
    assert await recv(layer, "a") == {"type": "one"}
    assert await recv(layer, "b") == {"type": "one"}
    await layer.group_discard("g", "a")
    await layer.group_discard("g", "not-a-member")
    await layer.group_discard("no-such-group", "a")
    await layer.group_send("g", {"type": "two"})
    assert await recv(layer, "b") == {"type": "two"}
    await assert_empty(layer, "a")
    await assert_empty(layer, "c")


async def test_group_send_to_an_empty_group_is_a_no_op() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_send("nobody", {"type": "m"})
    assert layer.dropped_messages == 0


async def test_group_membership_expires_after_group_expiry() -> None:
    layer = InMemoryChannelLayer(group_expiry=SHORT)
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await asyncio.sleep(SHORT * 2)
    await layer.group_add("g", "b")  # b joins again; a's membership has lapsed
    await layer.group_send("g", {"type": "m"})
    assert await recv(layer, "b") == {"type": "m"}
    await assert_empty(layer, "a")


async def test_group_add_refreshes_the_membership() -> None:
    layer = InMemoryChannelLayer(group_expiry=SHORT * 4)
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await asyncio.sleep(SHORT * 2)
    await layer.group_add("g", "a")  # refresh a only
    await asyncio.sleep(SHORT * 3)  # b is now older than group_expiry, a is not
    await layer.group_send("g", {"type": "m"})
    assert await recv(layer, "a") == {"type": "m"}
    await assert_empty(layer, "b")


async def test_group_send_skips_full_members_counts_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InMemoryChannelLayer(capacity=1)
    for name in ("full1", "full2", "ok"):
        await layer.group_add("room", name)
    await layer.send("full1", {"type": "filler"})
    await layer.send("full2", {"type": "filler"})
    with caplog.at_level(logging.WARNING, logger="fast_channels.layers.memory"):
        await layer.group_send("room", {"type": "chat.message"})
    assert await recv(layer, "ok") == {"type": "chat.message"}
    assert layer.dropped_messages == 2
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "skipped 2 of 3" in record.getMessage()
    assert "'room'" in record.getMessage()
    await layer.group_send("room", {"type": "again"})
    assert layer.dropped_messages == 4


async def test_group_send_creates_no_tasks() -> None:
    layer = InMemoryChannelLayer()
    receivers = [asyncio.create_task(recv(layer, f"c{i}")) for i in range(50)]
    for i in range(50):
        await layer.group_add("g", f"c{i}")
    await asyncio.sleep(0)
    before = asyncio.all_tasks()
    await layer.group_send("g", {"type": "m"})
    assert asyncio.all_tasks() == before
    assert len(await asyncio.gather(*receivers)) == 50


# Lifecycle --------------------------------------------------------------------------


async def test_flush_drops_messages_and_groups() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("c", {"type": "m"})
    await layer.group_add("g", "a")
    await layer.flush()
    await assert_empty(layer, "c")
    await layer.group_send("g", {"type": "m"})
    await assert_empty(layer, "a")


async def test_flush_keeps_waiting_receivers_working() -> None:
    layer = InMemoryChannelLayer()
    task = asyncio.create_task(recv(layer, "c"))
    await asyncio.sleep(0)
    await layer.flush()
    await layer.send("c", {"type": "after flush"})
    assert await task == {"type": "after flush"}


async def test_close_releases_and_the_layer_is_reusable() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("c", {"type": "m"})
    await layer.group_add("g", "c")
    await layer.close()
    assert not layer._channels and not layer._groups  # white-box: memory released
    await layer.send("c", {"type": "again"})
    assert await recv(layer, "c") == {"type": "again"}
    await layer.aclose()


async def test_async_with_closes_the_layer() -> None:
    async with InMemoryChannelLayer() as layer:
        await layer.send("c", {"type": "m"})
        assert await recv(layer, "c") == {"type": "m"}
        await layer.send("c", {"type": "left behind"})
    assert not layer._channels


async def test_a_message_handed_to_a_cancelled_receiver_survives_its_channel_being_swept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The woken receiver no longer counts as a waiter, so an expiry check that falls
    # due before it runs forgets the (empty) channel; its message must not go with it.
    from fast_channels.layers import memory

    clock = _Clock()
    monkeypatch.setattr(memory, "time", clock)
    layer = memory.InMemoryChannelLayer(expiry=10)
    receiver = asyncio.create_task(layer.receive("swept"))
    await asyncio.sleep(0)  # parked; the channel's check is due at t=10
    clock.now = 5
    await layer.send("swept", {"type": "kept"})  # handed over, expires at t=15
    clock.now = 11
    await layer.send("other", {"type": "other"})  # runs the check: "swept" is forgotten
    receiver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiver
    assert (await asyncio.wait_for(layer.receive("swept"), 1))["type"] == "kept"


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now
