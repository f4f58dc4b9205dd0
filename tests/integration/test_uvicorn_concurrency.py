"""``max_concurrent_handlers`` through a real uvicorn and real clients.

One handler at a time by default; with N > 1 at most N frames in flight, back-pressure
past N (the next frame is not read), broadcasts not held up by slow frames, a failing
frame handler closing with 1011, and ``disconnect()`` after the frames in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from fast_channels.consumer.limits import ConnectionLimits
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.uvicorn_server import serve


@dataclass
class State:
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    running: int = 0
    peak: int = 0
    disconnects: list[tuple[int, int, list[str]]] = field(default_factory=list)


class Worker(AsyncWebsocketConsumer):
    """Each frame waits for the test's gate; ``boom`` raises at once."""

    groups: ClassVar[list[str]] = ["workers"]
    limits = ConnectionLimits(rate=None, max_concurrent_handlers=3)
    state: ClassVar[State] = State()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        state, text = self.state, text_data or ""
        state.started.append(text)
        state.running += 1
        state.peak = max(state.peak, state.running)
        try:
            if text == "boom":
                raise RuntimeError("frame handler exploded")
            await state.gate.wait()
        except asyncio.CancelledError:
            state.cancelled.append(text)
            raise
        finally:
            state.running -= 1
        state.finished.append(text)
        await self.send(text_data=f"done {text}")

    async def workers_note(self, event: dict[str, Any]) -> None:
        await self.send(text_data=f"note {event['text']}")

    async def disconnect(self, code: int) -> None:
        state = self.state
        state.disconnects.append((code, state.running, list(state.finished)))


class SerialWorker(Worker):
    """The same handlers with the default limit: one message at a time."""

    limits = ConnectionLimits(rate=None)


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    Worker.state = State()  # shared by both classes: one consumer per test uses it
    return register_channel_layer("default", InMemoryChannelLayer())


@pytest.fixture
async def url(layer: InMemoryChannelLayer) -> AsyncIterator[str]:
    app = Starlette(
        routes=[
            WebSocketRoute("/worker", Worker.as_asgi()),
            WebSocketRoute("/serial", SerialWorker.as_asgi()),
        ]
    )
    async with serve(app) as base:
        yield base


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def stays(condition: Callable[[], bool], seconds: float = 0.3) -> bool:
    """True when ``condition`` holds on every check for ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if not condition():
            return False
        await asyncio.sleep(0.01)
    return True


async def recv_all(ws: ClientConnection, count: int) -> list[str]:
    return [str(await asyncio.wait_for(ws.recv(), 5)) for _ in range(count)]


async def joined(layer: InMemoryChannelLayer, members: int) -> None:
    await until(lambda: len(layer._groups.get("workers", ())) == members, "the group join")


async def test_at_most_n_frames_run_at_once_and_the_next_frame_waits_unread(url: str) -> None:
    state = Worker.state
    async with connect(f"{url}/worker", compression=None) as ws:
        for i in range(20):
            await ws.send(f"f{i}")
        await until(lambda: state.running == 3, "three handlers running")
        # Back-pressure: the fourth frame stays in the socket while three run.
        assert await stays(lambda: state.started == ["f0", "f1", "f2"])
        state.gate.set()
        replies = await recv_all(ws, 20)
    assert sorted(replies) == sorted(f"done f{i}" for i in range(20))
    assert state.started == [f"f{i}" for i in range(20)]  # read and started in order
    assert state.peak == 3


async def test_the_default_handles_one_frame_at_a_time_in_order(url: str) -> None:
    state = Worker.state
    async with connect(f"{url}/serial", compression=None) as ws:
        for i in range(5):
            await ws.send(f"f{i}")
        await until(lambda: state.running == 1, "the first handler")
        assert await stays(lambda: state.started == ["f0"])
        state.gate.set()
        replies = await recv_all(ws, 5)
    assert replies == [f"done f{i}" for i in range(5)]
    assert state.peak == 1


async def test_broadcasts_are_not_held_up_by_slow_frames(
    url: str, layer: InMemoryChannelLayer
) -> None:
    state = Worker.state
    async with connect(f"{url}/worker", compression=None) as ws:
        await joined(layer, 1)
        await ws.send("slow1")
        await ws.send("slow2")
        await until(lambda: state.running == 2, "two handlers running")
        for i in range(3):
            await layer.group_send("workers", {"type": "workers.note", "text": str(i)})
        assert await recv_all(ws, 3) == ["note 0", "note 1", "note 2"]  # in order
        assert state.running == 2
        state.gate.set()
        assert sorted(await recv_all(ws, 2)) == ["done slow1", "done slow2"]


async def test_with_the_default_a_broadcast_waits_for_the_running_frame(
    url: str, layer: InMemoryChannelLayer
) -> None:
    state = Worker.state
    async with connect(f"{url}/serial", compression=None) as ws:
        await joined(layer, 1)
        await ws.send("slow")
        await until(lambda: state.running == 1, "the handler")
        await layer.group_send("workers", {"type": "workers.note", "text": "x"})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        state.gate.set()
        assert await recv_all(ws, 2) == ["done slow", "note x"]


async def test_a_failing_frame_handler_closes_1011_and_cancels_the_others(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = Worker.state
    with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
        async with (
            connect(f"{url}/worker", compression=None) as bad,
            connect(f"{url}/serial", compression=None) as good,
        ):
            await bad.send("a")
            await bad.send("b")
            await until(lambda: state.running == 2, "two handlers running")
            await bad.send("boom")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(bad.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
            await until(lambda: len(state.disconnects) == 1, "disconnect()")
            assert sorted(state.cancelled) == ["a", "b"]
            assert state.disconnects == [(1011, 0, [])]
            state.gate.set()  # the other connection was not affected
            await good.send("still there")
            assert await recv_all(good, 1) == ["done still there"]
    assert "frame handler exploded" in caplog.text


async def test_disconnect_runs_after_the_frames_in_flight(url: str) -> None:
    state = Worker.state
    async with connect(f"{url}/worker", compression=None) as ws:
        await ws.send("a")
        await ws.send("b")
        await until(lambda: state.running == 2, "two handlers running")
    # The client is gone; its close was read, but disconnect() waits for a and b.
    assert await stays(lambda: state.disconnects == [])
    state.gate.set()
    await until(lambda: len(state.disconnects) == 1, "disconnect()")
    code, running, finished = state.disconnects[0]
    assert (code, running, sorted(finished)) == (1000, 0, ["a", "b"])
    assert state.cancelled == []
