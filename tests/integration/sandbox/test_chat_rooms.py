"""Chat rooms with presence and history: who is here, last messages, resuming after a gap."""

from __future__ import annotations

import uuid
from typing import Any

import redis.asyncio as aioredis
from fast_channels.layers.redis._group_state.scripts import group_keys
from fast_channels.testing import WebsocketCommunicator

from .conftest import LAYERS, connect, needs_redis


def room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


async def frames_until(ws: WebsocketCommunicator, kind: str) -> list[dict[str, Any]]:
    """Every frame up to and including the first of type ``kind``."""
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=5)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


async def enter(
    app: Any, room_name: str, name: str, after: str | None = None
) -> tuple[WebsocketCommunicator, list[dict[str, Any]]]:
    """Join; return the socket and its frames up to (and with) its own join notice."""
    query = f"name={name}" + (f"&after={after}" if after is not None else "")
    ws = await connect(app, f"/ws/room/{room_name}?{query}")
    frames = await frames_until(ws, "presence")
    own = await ws.receive_json_from(timeout=5)
    assert (own["type"], own["event"], own["name"]) == ("notice", "join", name), own
    return ws, [*frames, own]


def texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in frames if f["type"] in ("message", "notice")]


async def say(ws: WebsocketCommunicator, text: str) -> dict[str, Any]:
    await ws.send_json_to({"type": "message", "text": text})
    frame = await ws.receive_json_from(timeout=5)
    assert frame["type"] == "message" and frame["text"] == text, frame
    return frame


async def test_presence_lists_everyone_and_follows_joins_and_leaves(app: Any) -> None:
    lobby = room()
    ann, _ = await enter(app, lobby, "ann")
    bob, bob_frames = await enter(app, lobby, "bob")
    here = next(f for f in bob_frames if f["type"] == "presence")
    assert [m["name"] for m in here["members"]] == ["ann", "bob"]
    assert all(len(m["id"]) == 12 for m in here["members"])  # no channel names leak
    joined = await ann.receive_json_from(timeout=5)
    assert (joined["event"], joined["member"]["name"]) == ("join", "bob")

    await bob.disconnect()
    left = await ann.receive_json_from(timeout=5)
    assert (left["event"], left["member"]) == ("leave", joined["member"])
    await ann.send_json_to({"type": "who"})
    assert [m["name"] for m in (await ann.receive_json_from(timeout=5))["members"]] == ["ann"]
    await ann.disconnect()


async def test_a_new_member_sees_the_last_messages_marked_as_replayed(app: Any) -> None:
    lobby = room()
    ann, _ = await enter(app, lobby, "ann")
    for i in range(3):
        await say(ann, f"hello {i}")
    bob, frames = await enter(app, lobby, "bob")
    replayed = [f for f in frames if f.get("replay")]
    assert texts(replayed) == ["ann joined the room", "hello 0", "hello 1", "hello 2"]
    positions = [int(f["position"].split(":")[1]) for f in replayed]
    assert positions == [1, 2, 3, 4]
    resumed = next(f for f in frames if f["type"] == "resumed")
    assert resumed == {"type": "resumed", "mode": "recent", "after": None, "count": 4}
    await ann.disconnect()
    await bob.disconnect()


async def test_a_page_that_comes_back_gets_what_it_missed_once_in_order(app: Any) -> None:
    lobby = room()
    ann, _ = await enter(app, lobby, "ann")
    bob, _ = await enter(app, lobby, "bob")
    await ann.receive_json_from(timeout=5)  # bob's join
    last_seen = (await say(bob, "before the gap"))["position"]
    await ann.receive_json_from(timeout=5)
    await bob.disconnect()
    await ann.receive_json_from(timeout=5)  # bob left
    missed = [(await say(ann, f"missed {i}"))["text"] for i in range(5)]

    bob, frames = await enter(app, lobby, "bob", after=last_seen)
    assert texts(frames[: frames.index(next(f for f in frames if f["type"] == "resumed"))]) == [
        "bob left the room",
        *missed,
    ]
    resumed = next(f for f in frames if f["type"] == "resumed")
    assert resumed == {"type": "resumed", "mode": "recovered", "after": last_seen, "count": 6}
    assert not [f for f in frames if f["type"] == "reset"]
    assert (await ann.receive_json_from(timeout=5))["text"] == "bob joined the room"
    live = await say(ann, "live again")
    assert (await bob.receive_json_from(timeout=5))["text"] == live["text"]
    assert await bob.receive_nothing(timeout=0.2)  # nothing twice
    await ann.disconnect()
    await bob.disconnect()


@needs_redis
async def test_lost_history_is_reported_and_the_room_reloaded(app: Any, redis_url: str) -> None:
    lobby = room()
    ann, _ = await enter(app, lobby, "ann")
    last_seen = (await say(ann, "before the wipe"))["position"]
    await ann.disconnect()
    # What Redis restarting empty does to this room: its history keys are gone.
    keys = group_keys("chat", f"room.{lobby}")
    async with aioredis.from_url(redis_url) as client:
        assert await client.delete(keys.meta, keys.stream) == 2
    bob, _ = await enter(app, lobby, "bob")
    await say(bob, "after the wipe")

    ann, frames = await enter(app, lobby, "ann", after=last_seen)
    kinds = [f["type"] for f in frames]
    reset = frames[kinds.index("reset")]
    assert reset == {"type": "reset", "reason": "epoch", "after": last_seen}
    after_reset = frames[kinds.index("reset") + 1 : kinds.index("resumed")]
    assert texts(after_reset) == ["bob joined the room", "after the wipe"]
    assert frames[kinds.index("resumed")]["mode"] == "reset"
    assert after_reset[0]["position"].split(":")[0] != last_seen.split(":")[0]  # new epoch
    await ann.disconnect()
    await bob.disconnect()


async def test_an_invalid_position_is_an_error_for_that_page_only(app: Any) -> None:
    lobby = room()
    ann, _ = await enter(app, lobby, "ann")
    bad, frames = await enter(app, lobby, "mallory", after="not-a-position")
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["invalid_position"]
    assert "'<epoch>:<offset>'" in errors[0]["message"]
    assert next(f for f in frames if f["type"] == "reset")["reason"] == "invalid"
    # ann only hears that mallory joined, and mallory's socket still works.
    assert (await ann.receive_json_from(timeout=5))["name"] == "mallory"
    await say(bad, "still here")
    assert (await ann.receive_json_from(timeout=5))["text"] == "still here"
    assert await ann.receive_nothing(timeout=0.2)
    await ann.disconnect()
    await bad.disconnect()


def test_the_chat_layer_keeps_room_history_in_both_layer_modes() -> None:
    from sandbox.layers import CHAT_HISTORY

    assert LAYERS in ("redis", "memory") and "room.*" in CHAT_HISTORY
