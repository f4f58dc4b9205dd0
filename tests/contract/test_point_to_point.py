"""Contract: send / receive / new_channel, identical for every layer.

Receivers always use names from ``new_channel()`` created before sending, so
the fire-and-forget pub/sub layer is subscribed when messages go out.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from fast_channels.layers import BaseChannelLayer
from fast_channels.layers.naming import is_process_local, require_valid_channel_name

from ._helpers import assert_nothing_before_sentinel, receive


async def test_send_receive_round_trip(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello.world", "text": "hi"})
    assert await receive(layer, channel) == {"type": "hello.world", "text": "hi"}


async def test_fifo_order_of_100_messages(layer: BaseChannelLayer) -> None:
    channel = await layer.new_channel()
    for i in range(100):
        await layer.send(channel, {"type": "seq", "i": i})
    received = [(await receive(layer, channel))["i"] for _ in range(100)]
    assert received == list(range(100))


async def test_new_channel_names_are_valid_unique_and_process_local(
    layer: BaseChannelLayer,
) -> None:
    names = [await layer.new_channel() for _ in range(20)]
    assert len(set(names)) == 20
    for name in names:
        assert require_valid_channel_name(name) == name
        assert is_process_local(name)
    assert (await layer.new_channel("chat")).startswith("chat")


async def test_process_local_channels_do_not_cross(layer: BaseChannelLayer) -> None:
    channels = [await layer.new_channel() for _ in range(5)]
    for round_ in range(3):
        for index, channel in enumerate(channels):
            await layer.send(channel, {"type": "m", "owner": index, "round": round_})
    for index, channel in enumerate(channels):
        got = [await receive(layer, channel) for _ in range(3)]
        assert got == [{"type": "m", "owner": index, "round": r} for r in range(3)]
        await assert_nothing_before_sentinel(layer, channel)


async def test_concurrent_receivers_on_different_channels(layer: BaseChannelLayer) -> None:
    channels = [await layer.new_channel() for _ in range(10)]
    receivers = [asyncio.create_task(receive(layer, channel)) for channel in channels]
    await asyncio.sleep(0.01)  # let every receive start waiting
    for index, channel in reversed(list(enumerate(channels))):
        await layer.send(channel, {"type": "m", "to": index})
    got = await asyncio.gather(*receivers)
    assert [m["to"] for m in got] == list(range(10))


@pytest.mark.parametrize("cancel_after", [0.0, 0.001, 0.02], ids=["at-once", "1ms", "20ms"])
async def test_a_cancelled_receive_loses_nothing(
    layer: BaseChannelLayer, cancel_after: float
) -> None:
    """The message sent as a receive is cancelled arrives exactly once, in order."""
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.02)  # the receive is now blocked
    await layer.send(channel, {"type": "m", "n": 1})
    await asyncio.sleep(cancel_after)
    waiting.cancel()
    results: list[dict[str, Any]] = []
    with contextlib.suppress(asyncio.CancelledError):
        results.append(await waiting)  # it may have won the race and got the message
    await layer.send(channel, {"type": "m", "n": 2})
    while len(results) < 2:
        results.append(await receive(layer, channel))
    assert [m["n"] for m in results] == [1, 2]


async def test_a_receive_cancelled_while_idle_does_not_eat_the_next_message(
    layer: BaseChannelLayer,
) -> None:
    channel = await layer.new_channel()
    for _ in range(3):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.05)
    await layer.send(channel, {"type": "after.timeouts"})
    assert await receive(layer, channel) == {"type": "after.timeouts"}


async def test_non_ascii_and_nested_payloads_round_trip(layer: BaseChannelLayer) -> None:
    message = {
        "type": "chat.message",
        "text": "héllo wörld, 你好, привет, 🎉",
        "user": {"name": "Zoë", "roles": ["admin", "ünïcode"]},
        "nested": {"a": [{"b": [1, 2.5, None, True, False]}, {"c": {"d": {}}}], "e": []},
        "big": 2**40,
        "negative": -7,
        "empty": "",
    }
    channel = await layer.new_channel()
    await layer.send(channel, message)
    assert await receive(layer, channel) == message


@pytest.mark.parametrize("bad", ["has space", "ünïcode", "", "x" * 100, "a/b"])
async def test_invalid_channel_names_raise_type_error(layer: BaseChannelLayer, bad: str) -> None:
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.send(bad, {"type": "m"})
    with pytest.raises(TypeError, match="ASCII letters"):
        await asyncio.wait_for(layer.receive(bad), 1)


async def test_non_str_channel_name_raises_type_error(layer: BaseChannelLayer) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        await layer.send(42, {"type": "m"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [None, "text", ["type", "m"], {}, {"text": "no type"}, {"type": ""}, {"type": 5}],
    ids=["none", "str", "list", "empty-dict", "missing-type", "empty-type", "int-type"],
)
async def test_invalid_messages_raise_type_error_and_send_nothing(
    layer: BaseChannelLayer, bad: Any
) -> None:
    channel = await layer.new_channel()
    with pytest.raises(TypeError, match=r"must be a dict|'type'"):
        await layer.send(channel, bad)
    await assert_nothing_before_sentinel(layer, channel)
