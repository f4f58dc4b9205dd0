"""The presence and history samples of the concepts page and the guide."""

from __future__ import annotations

import importlib
import json

import pytest
from fast_channels.layers import BaseChannelLayer, register_channel_layer
from fast_channels.testing import HttpCommunicator, WebsocketCommunicator

from .conftest import EXAMPLES, example, run_script


def test_presence_and_history_prints_what_the_page_shows() -> None:
    expected = (EXAMPLES / "presence_and_history.out").read_text()
    assert run_script("docs/examples/presence_and_history.py") == expected


LAYER_KINDS = [
    "memory",
    pytest.param("queue", marks=pytest.mark.redis),
    pytest.param("pubsub", marks=pytest.mark.redis),
]


async def build(kind: str, request: pytest.FixtureRequest) -> BaseChannelLayer:
    if kind != "memory":
        request.getfixturevalue("redis_env")
    live_room = importlib.reload(example("live_room"))  # REDIS_URL is read at import
    layer: BaseChannelLayer = getattr(live_room, f"{kind}_layer")()
    await layer.flush()
    return register_channel_layer("default", layer)


@pytest.mark.parametrize("kind", LAYER_KINDS)
async def test_lobby_shows_who_is_here(kind: str, request: pytest.FixtureRequest) -> None:
    layer = await build(kind, request)
    app = example("live_room").LobbyConsumer.as_asgi()
    ann = WebsocketCommunicator(app, "/ws/lobby/ann", path_params={"user": "ann"})
    assert (await ann.connect(timeout=5))[0]
    # connect() runs before any layer message: the list first, then her own arrival.
    assert await ann.receive_json_from(timeout=5) == {"here": ["ann"]}
    assert await ann.receive_json_from(timeout=5) == {"joined": "ann"}
    ben = WebsocketCommunicator(app, "/ws/lobby/ben", path_params={"user": "ben"})
    assert (await ben.connect(timeout=5))[0]
    assert await ann.receive_json_from(timeout=5) == {"joined": "ben"}
    await ben.disconnect(timeout=5)
    assert await ann.receive_json_from(timeout=5) == {"left": "ben"}
    await ann.disconnect(timeout=5)
    await layer.close()


@pytest.mark.parametrize("kind", LAYER_KINDS)
async def test_room_replays_what_a_reconnecting_page_missed(
    kind: str, request: pytest.FixtureRequest
) -> None:
    layer = await build(kind, request)
    app = example("live_room").RoomConsumer.as_asgi()
    first = WebsocketCommunicator(app, "/ws/room/a", path_params={"room": "a"})
    assert (await first.connect(timeout=5))[0]
    await first.send_json_to({"text": "one"})
    seen = await first.receive_json_from(timeout=5)
    await first.disconnect(timeout=5)
    for text in ("two", "three"):  # sent while the page was away
        await layer.group_send("room-a", {"type": "chat.message", "text": text})
    again = WebsocketCommunicator(
        app, f"/ws/room/a?after={seen['position']}", path_params={"room": "a"}
    )
    assert (await again.connect(timeout=5))[0]
    assert [(await again.receive_json_from(timeout=5))["text"] for _ in range(2)] == [
        "two",
        "three",
    ]
    assert await again.receive_nothing(timeout=0.3)
    await again.disconnect(timeout=5)
    stale = WebsocketCommunicator(app, "/ws/room/a?after=0:1", path_params={"room": "a"})
    assert (await stale.connect(timeout=5))[0]
    assert await stale.receive_json_from(timeout=5) == {"reload": True}
    await stale.disconnect(timeout=5)
    await layer.close()


async def test_sse_stream_resumes_from_last_event_id(request: pytest.FixtureRequest) -> None:
    layer = await build("memory", request)
    app = example("live_room").RoomStream.as_asgi()
    async with HttpCommunicator(app, "GET", "/sse/room") as comm:
        await comm.get_response_start()
        await comm.receive_event(comments=True)  # "stream open"
        await layer.group_send("room-lobby", {"type": "chat.message", "text": "hi"})
        event = await comm.receive_event()
        assert json.loads(event.data) == {"text": "hi"}
    await layer.group_send("room-lobby", {"type": "chat.message", "text": "missed"})
    headers = [(b"last-event-id", (event.id or "").encode())]
    async with HttpCommunicator(app, "GET", "/sse/room", headers=headers) as comm:
        await comm.get_response_start()
        await comm.receive_event(comments=True)
        replayed = await comm.receive_event()
        assert json.loads(replayed.data) == {"text": "missed"}
    bad = [(b"last-event-id", b"nonsense")]
    async with HttpCommunicator(app, "GET", "/sse/room", headers=bad) as comm:
        await comm.get_response_start()
        await comm.receive_event(comments=True)
        failed = await comm.receive_event()
        assert (failed.event, json.loads(failed.data)) == ("recovery.failed", {"reason": "invalid"})
