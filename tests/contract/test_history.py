"""Contract: resumable groups (group_history=), positions, recovery, group_resume()."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest
from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.exceptions import HistoryUnrecoverable, InvalidPosition
from fast_channels.layers import BaseChannelLayer, register_channel_layer
from fast_channels.layers.history import POSITION_KEY, HistoryLayer, Position
from fast_channels.testing import WebsocketCommunicator

from ._helpers import receive
from .conftest import LayerFactory

KEPT = {"room-*": (5, 60.0), "short-*": (100, 0.3)}


@pytest.fixture
async def kept(layer_factory: LayerFactory) -> Any:
    """A layer on which ``room-*`` keeps 5 messages for a minute, ``short-*`` 0.3 s."""
    made = layer_factory(group_history=KEPT)
    assert isinstance(made, HistoryLayer)
    try:
        yield made
    finally:
        await made.close()


def position(message: dict[str, Any]) -> Position:
    found = Position.of(message)
    assert found is not None, message
    return found[1]


async def send_numbers(layer: BaseChannelLayer, group: str, numbers: range) -> None:
    for i in numbers:
        await layer.group_send(group, {"type": "n", "i": i})


async def test_members_get_consecutive_positions(kept: Any) -> None:
    channel = await kept.new_channel()
    await kept.group_add("room-a", channel)
    await send_numbers(kept, "room-a", range(3))
    got = [await receive(kept, channel) for _ in range(3)]
    assert [m["i"] for m in got] == [0, 1, 2]
    assert [position(m).offset for m in got] == [1, 2, 3]
    assert len({position(m).epoch for m in got}) == 1
    assert got[0][POSITION_KEY]["group"] == "room-a"


async def test_other_groups_get_no_position_and_no_history(kept: Any) -> None:
    channel = await kept.new_channel()
    await kept.group_add("plain", channel)
    await kept.group_send("plain", {"type": "n"})
    assert await receive(kept, channel) == {"type": "n"}
    assert not kept.keeps_history("plain") and kept.keeps_history("room-x")
    with pytest.raises(ValueError, match="keeps no history"):
        await kept.group_history("plain")


async def test_everything_after_a_position_in_order(kept: Any) -> None:
    # Sent while nobody was a member: still kept (on pub/sub too).
    await send_numbers(kept, "room-a", range(4))
    everything = await kept.group_history("room-a")
    assert [m["i"] for m in everything.messages] == [0, 1, 2, 3]
    assert everything.position == position(everything.messages[-1])
    after_second = await kept.group_history("room-a", str(position(everything.messages[1])))
    assert [m["i"] for m in after_second.messages] == [2, 3]
    at_top = await kept.group_history("room-a", everything.position)
    assert at_top.messages == [] and at_top.position == everything.position


async def test_only_the_last_size_messages_are_kept(kept: Any) -> None:
    await send_numbers(kept, "room-a", range(8))
    history = await kept.group_history("room-a")
    assert [m["i"] for m in history.messages] == [3, 4, 5, 6, 7]
    epoch = history.position.epoch
    assert [m["i"] for m in (await kept.group_history("room-a", f"{epoch}:3")).messages] == [
        3,
        4,
        5,
        6,
        7,
    ]
    with pytest.raises(HistoryUnrecoverable) as caught:
        await kept.group_history("room-a", f"{epoch}:2")
    assert caught.value.reason == "too_old" and caught.value.position == history.position


async def test_old_messages_expire_by_age(kept: Any) -> None:
    await send_numbers(kept, "short-a", range(2))
    first = (await kept.group_history("short-a")).messages[0]
    await asyncio.sleep(0.45)
    await send_numbers(kept, "short-a", range(2, 3))
    history = await kept.group_history("short-a")
    assert [m["i"] for m in history.messages] == [2]
    with pytest.raises(HistoryUnrecoverable, match="no longer kept"):
        await kept.group_history("short-a", position(first))


async def test_unknown_epoch_and_future_positions(kept: Any) -> None:
    with pytest.raises(HistoryUnrecoverable) as empty:
        await kept.group_history("room-new", "abcd:0")
    assert empty.value.reason == "epoch" and empty.value.position is None
    await send_numbers(kept, "room-a", range(2))
    top = (await kept.group_history("room-a")).position
    with pytest.raises(HistoryUnrecoverable, match="lost") as other:
        await kept.group_history("room-a", "ffff0000:1")
    assert other.value.reason == "epoch"
    with pytest.raises(HistoryUnrecoverable) as ahead:
        await kept.group_history("room-a", f"{top.epoch}:{top.offset + 1}")
    assert ahead.value.reason == "ahead"


@pytest.mark.parametrize("bad", ["", "17", "x:1", "abc:-1", "abc:1:2", "ABC:1"])
async def test_malformed_positions_are_refused(kept: Any, bad: str) -> None:
    with pytest.raises(InvalidPosition, match="not a history position"):
        await kept.group_history("room-a", bad)


async def test_flush_loses_history_so_the_epoch_changes(kept: Any) -> None:
    await send_numbers(kept, "room-a", range(2))
    before = (await kept.group_history("room-a")).position
    await kept.flush()
    assert (await kept.group_history("room-a")).messages == []
    with pytest.raises(HistoryUnrecoverable):
        await kept.group_history("room-a", before)
    await send_numbers(kept, "room-a", range(1))
    after = (await kept.group_history("room-a")).position
    assert after.epoch != before.epoch and after.offset == 1


def test_bad_limits_are_refused(layer_factory: LayerFactory) -> None:
    for limits in [(0, 10), (10, 0), (10**6, 10), (True, 10), "10"]:
        with pytest.raises(ValueError, match="must be \\(size, seconds\\)"):
            layer_factory(group_history={"room-*": limits})
    with pytest.raises(TypeError, match="glob strings"):
        layer_factory(group_history={3: (10, 10)})


class Reader(AsyncJsonWebsocketConsumer):
    """Resumes ``room-a`` from the ``?`` query string: a position, ``recent`` or nothing."""

    seen: ClassVar[list[int]] = []

    async def connect(self) -> None:
        await self.accept()
        asked = self.scope["query_string"].decode()
        try:
            since = None if asked in ("", "recent") else asked
            await self.group_resume("room-a", since, recent=asked == "recent")
        except (HistoryUnrecoverable, InvalidPosition) as exc:
            await self.send_json({"reload": getattr(exc, "reason", "invalid")})

    async def n(self, event: dict[str, Any]) -> None:
        await self.send_json({"i": event["i"], "at": self.position_id(event)})


async def read_numbers(client: WebsocketCommunicator, count: int) -> list[int]:
    return [(await client.receive_json_from(timeout=5))["i"] for _ in range(count)]


async def test_group_resume_replays_then_goes_live_each_once(kept: Any) -> None:
    register_channel_layer("default", kept)
    await send_numbers(kept, "room-a", range(3))
    first = (await kept.group_history("room-a")).messages[0]
    client = WebsocketCommunicator(Reader.as_asgi(), f"/ws?{position(first)}")
    assert (await client.connect(timeout=5))[0]
    assert await read_numbers(client, 2) == [1, 2]
    await send_numbers(kept, "room-a", range(3, 5))
    assert await read_numbers(client, 2) == [3, 4]
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect(timeout=5)


async def test_messages_sent_during_the_replay_arrive_once(kept: Any) -> None:
    register_channel_layer("default", kept)
    await send_numbers(kept, "room-a", range(1))
    start = (await kept.group_history("room-a")).position
    client = WebsocketCommunicator(Reader.as_asgi(), f"/ws?{start}")
    connecting = asyncio.ensure_future(client.connect(timeout=5))
    await send_numbers(kept, "room-a", range(1, 5))  # races the join and the replay
    assert (await connecting)[0]
    assert await read_numbers(client, 4) == [1, 2, 3, 4]
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect(timeout=5)


async def test_recent_replays_what_is_kept_and_bad_positions_reload(kept: Any) -> None:
    register_channel_layer("default", kept)
    await send_numbers(kept, "room-a", range(7))
    client = WebsocketCommunicator(Reader.as_asgi(), "/ws?recent")
    assert (await client.connect(timeout=5))[0]
    assert await read_numbers(client, 5) == [2, 3, 4, 5, 6]
    await client.disconnect(timeout=5)
    for asked, reason in [("nonsense", "invalid"), ("ab:1", "epoch")]:
        stale = WebsocketCommunicator(Reader.as_asgi(), f"/ws?{asked}")
        assert (await stale.connect(timeout=5))[0]
        assert await stale.receive_json_from(timeout=5) == {"reload": reason}
        await send_numbers(kept, "room-a", range(7, 8))
        if reason == "epoch":  # the group was joined: live messages continue
            assert await read_numbers(stale, 1) == [7]
        await stale.disconnect(timeout=5)
