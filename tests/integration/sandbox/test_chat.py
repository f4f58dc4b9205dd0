"""Room chat over the "chat" layer: rooms, notices, isolation and bad input."""

from __future__ import annotations

import uuid
from typing import Any

from fast_channels.testing import WebsocketCommunicator

from .conftest import client, connect


def room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


async def join(app: Any, room_name: str, name: str) -> WebsocketCommunicator:
    """Join a fresh room and read everything up to our own join notice."""
    ws = await connect(app, f"/ws/room/{room_name}?name={name}")
    assert await ws.receive_json_from() == {
        "type": "joined",
        "room": room_name,
        "name": name,
        "verified": False,
    }
    while (frame := await ws.receive_json_from(timeout=5))["type"] != "presence":
        assert frame.get("replay") or frame["type"] == "resumed", frame  # the room's history
    notice = await ws.receive_json_from(timeout=5)  # our own join notice, through the layer
    assert notice["type"] == "notice" and notice["name"] == name
    return ws


def without_position(frame: dict[str, Any]) -> dict[str, Any]:
    """A frame without the position the layer gave it (checked in test_chat_rooms)."""
    assert isinstance(frame.pop("position"), str), frame
    frame.pop("member", None)
    return frame


async def test_room_members_see_messages_and_notices_other_rooms_do_not(app: Any) -> None:
    lobby, other = room(), room()
    ann = await join(app, lobby, "ann")
    bob = await join(app, lobby, "bob")
    assert without_position(await ann.receive_json_from(timeout=5)) == {
        "type": "notice",
        "event": "join",
        "room": lobby,
        "name": "bob",
        "text": "bob joined the room",
    }
    carl = await join(app, other, "carl")

    await ann.send_json_to({"type": "message", "text": "<img src=x onerror=alert(1)>"})
    expected = {
        "type": "message",
        "room": lobby,
        "name": "ann",
        "verified": False,
        "text": "<img src=x onerror=alert(1)>",
    }
    assert without_position(await ann.receive_json_from(timeout=5)) == expected
    assert without_position(await bob.receive_json_from(timeout=5)) == expected

    await bob.disconnect()
    leave = await ann.receive_json_from(timeout=5)
    assert (leave["event"], leave["name"], leave["text"]) == ("leave", "bob", "bob left the room")

    assert await carl.receive_nothing(timeout=0.3)  # nothing from the other room
    await ann.disconnect()
    await carl.disconnect()


async def test_invalid_room_name_gets_an_error_and_a_close(app: Any) -> None:
    ws = client(app, "/ws/room/not a room!")
    assert (await ws.connect())[0]
    error = await ws.receive_json_from()
    assert error["type"] == "error" and error["code"] == "invalid_room"
    assert "'not a room!'" in error["message"] and "ASCII letters" in error["message"]
    assert await ws.receive_close() == 4400
    await ws.disconnect()


async def test_too_long_display_name_is_refused(app: Any) -> None:
    ws = client(app, f"/ws/room/{room()}?name={'n' * 40}")
    assert (await ws.connect())[0]
    error = await ws.receive_json_from()
    assert (error["code"], "limit is 32" in error["message"]) == ("invalid_name", True)
    assert await ws.receive_close() == 4400
    await ws.disconnect()


async def test_bad_frames_get_errors_for_the_sender_only(app: Any) -> None:
    lobby = room()
    ann = await join(app, lobby, "ann")
    bob = await join(app, lobby, "bob")
    await ann.receive_json_from(timeout=5)  # bob's join notice

    await ann.send_to(text_data="{not json")
    error = await ann.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid_json")

    await ann.send_json_to({"type": "message", "text": "y" * 1200})  # over 1000 bytes
    assert (await ann.receive_json_from())["code"] == "frame_too_large"

    await ann.send_json_to({"type": "dance"})
    assert (await ann.receive_json_from())["code"] == "unknown_action"

    await ann.send_json_to(["no", "type"])
    assert (await ann.receive_json_from())["code"] == "invalid_message"

    await ann.send_json_to({"type": "message", "text": "   "})
    assert (await ann.receive_json_from())["code"] == "invalid_message"

    assert await bob.receive_nothing(timeout=0.3)  # none of that reached the room

    await ann.send_json_to({"type": "message", "text": "all good"})  # and ann still works
    assert (await bob.receive_json_from(timeout=5))["text"] == "all good"
    await ann.disconnect()
    await bob.disconnect()


async def test_flooding_the_room_is_rate_limited_for_that_client(app: Any) -> None:
    lobby = room()
    ann = await join(app, lobby, "ann")
    bob = await join(app, lobby, "bob")
    await ann.receive_json_from(timeout=5)
    for i in range(25):
        await ann.send_json_to({"type": "message", "text": f"spam {i}"})
    seen_by_ann = [await ann.receive_json_from(timeout=5) for _ in range(25)]
    errors = [m for m in seen_by_ann if m["type"] == "error"]
    delivered = [m for m in seen_by_ann if m["type"] == "message"]
    assert errors and all(e["code"] == "rate_limited" for e in errors)
    # bob received exactly the messages that were let through, and no errors
    seen_by_bob = [await bob.receive_json_from(timeout=5) for _ in delivered]
    assert seen_by_bob == delivered
    assert await bob.receive_nothing(timeout=0.3)
    await ann.disconnect()
    await bob.disconnect()
