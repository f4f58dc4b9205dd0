"""AsyncConsumer and AsyncWebsocketConsumer, driven through WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import pytest
from fast_channels.consumer import AsyncConsumer, ConsumerApp
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.exceptions import (
    AcceptConnection,
    ChannelLayerConnectionError,
    DenyConnection,
    InvalidMessageType,
    StopConsumer,
)
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.testing import ApplicationCommunicator, WebsocketCommunicator


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return register_channel_layer("default", InMemoryChannelLayer())  # type: ignore[return-value]


class EchoConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "boom":
            raise RuntimeError("handler exploded")
        if text_data == "stop":
            raise StopConsumer
        if text_data is not None:
            await self.send(text_data=text_data.upper())
        else:
            await self.send(bytes_data=bytes_data)


class RoomConsumer(AsyncWebsocketConsumer):
    groups: ClassVar[list[str]] = ["room"]
    disconnects: ClassVar[list[int]] = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send("room", {"type": "room.message", "text": text_data})

    async def room_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        self.disconnects.append(code)


async def test_as_asgi_returns_an_app_object_not_a_function() -> None:
    app = EchoConsumer.as_asgi()
    assert isinstance(app, ConsumerApp)
    assert app.consumer_class is EchoConsumer


async def test_as_asgi_rejects_unknown_initkwargs() -> None:
    with pytest.raises(TypeError, match="'colour', which is not an attribute of EchoConsumer"):
        EchoConsumer.as_asgi(colour="red")


async def test_initkwargs_become_instance_attributes() -> None:
    class Greeter(AsyncWebsocketConsumer):
        channel_layer_alias = None
        greeting = "hello"

        async def connect(self) -> None:
            await self.accept()
            await self.send(text_data=self.greeting)

    async with WebsocketCommunicator(Greeter.as_asgi(greeting="bonjour"), "/") as ws:
        assert (await ws.connect())[0]
        assert await ws.receive_from() == "bonjour"


async def test_text_and_bytes_frames_reach_receive() -> None:
    async with WebsocketCommunicator(EchoConsumer.as_asgi(), "/echo") as ws:
        assert await ws.connect() == (True, None)
        await ws.send_to(text_data="hi")
        assert await ws.receive_from() == "HI"
        await ws.send_to(bytes_data=b"\x00\x01")
        assert await ws.receive_from() == b"\x00\x01"
        await ws.disconnect()


async def test_accept_with_subprotocol_and_headers() -> None:
    class Proto(AsyncWebsocketConsumer):
        channel_layer_alias = None

        async def connect(self) -> None:
            offered = self.scope["subprotocols"]
            await self.accept(subprotocol=offered[-1], headers={"x-room": "lobby"})

    ws = WebsocketCommunicator(Proto.as_asgi(), "/", subprotocols=["v1", "v2"])
    async with ws:
        assert await ws.connect() == (True, "v2")
        assert ws.accept_headers == [(b"x-room", b"lobby")]


async def test_accept_connection_and_deny_connection_exceptions() -> None:
    class Gate(AsyncWebsocketConsumer):
        channel_layer_alias = None

        async def connect(self) -> None:
            if self.scope["query_string"] == b"ok=1":
                raise AcceptConnection
            raise DenyConnection

    async with WebsocketCommunicator(Gate.as_asgi(), "/?ok=1") as ws:
        assert await ws.connect() == (True, None)
    async with WebsocketCommunicator(Gate.as_asgi(), "/?ok=0") as ws:
        assert await ws.connect() == (False, 1000)
        await ws.disconnect(code=1006)


async def test_stop_consumer_ends_the_app_cleanly() -> None:
    async with WebsocketCommunicator(EchoConsumer.as_asgi(), "/") as ws:
        await ws.connect()
        await ws.send_to(text_data="stop")
        await ws.wait()
        assert ws.task.done() and ws.task.exception() is None


async def test_handler_exception_closes_that_socket_with_1011_and_others_keep_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = EchoConsumer.as_asgi()
    first, second = WebsocketCommunicator(app, "/a"), WebsocketCommunicator(app, "/b")
    async with first, second:
        assert (await first.connect())[0] and (await second.connect())[0]
        with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
            await first.send_to(text_data="boom")
            assert await first.receive_close() == 1011
            await first.wait()
        assert "handler exploded" in caplog.text
        assert any(r.name == "fast_channels.consumer" for r in caplog.records)
        await second.send_to(text_data="still here")
        assert await second.receive_from() == "STILL HERE"
        await second.disconnect()


async def test_groups_joined_on_connect_and_left_on_disconnect(
    layer: InMemoryChannelLayer,
) -> None:
    RoomConsumer.disconnects = []
    app = RoomConsumer.as_asgi()
    async with WebsocketCommunicator(app, "/") as a, WebsocketCommunicator(app, "/") as b:
        await a.connect()
        await b.connect()
        await a.send_to(text_data="hello room")
        assert await a.receive_from() == "hello room"
        assert await b.receive_from() == "hello room"
        await b.disconnect(code=4001)
        assert RoomConsumer.disconnects == [4001]
        # b left the group: only a gets the next message, and nothing is queued for b.
        await a.send_to(text_data="again")
        assert await a.receive_from() == "again"
        assert len(layer._groups["room"]) == 1
        await a.disconnect()
    assert "room" not in layer._groups or not layer._groups["room"]


async def test_channel_layer_messages_dispatch_by_type(layer: InMemoryChannelLayer) -> None:
    async with WebsocketCommunicator(RoomConsumer.as_asgi(), "/") as ws:
        await ws.connect()
        await layer.group_send("room", {"type": "room.message", "text": "from the layer"})
        assert await ws.receive_from() == "from the layer"
        await ws.disconnect()


async def test_layer_message_without_handler_is_logged_and_the_socket_keeps_working(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    async with WebsocketCommunicator(RoomConsumer.as_asgi(), "/") as ws:
        await ws.connect()
        with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
            await layer.group_send("room", {"type": "game.move"})
            await layer.group_send("room", {"type": "room.message", "text": "still here"})
            assert await ws.receive_from() == "still here"
        assert "no handler for message type 'game.move'" in caplog.text
        assert "async def game_move(self, message)" in caplog.text
        await ws.disconnect()


@pytest.mark.parametrize(
    "msg_type",
    [
        "dispatch",
        "send",
        "close",
        "accept",
        "connect",
        "receive",
        "disconnect",
        "groups",
        "channel_layer",
        "handle_exception",
        "as_asgi",
    ],
)
async def test_layer_messages_never_reach_the_consumer_api(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture, msg_type: str
) -> None:
    async with WebsocketCommunicator(RoomConsumer.as_asgi(), "/") as ws:
        await ws.connect()
        with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
            await layer.group_send("room", {"type": msg_type, "text": "x"})
            await layer.group_send("room", {"type": "room.message", "text": "after"})
            # Nothing but the real handler's frame: no close, no recursion, no raw ASGI.
            assert await ws.receive_from() == "after"
            assert await ws.receive_nothing()
        assert f"no handler for message type {msg_type!r}" in caplog.text
        await ws.disconnect()


@pytest.mark.parametrize("msg_type", ["websocket.disconnect", "websocket.receive", "http.request"])
async def test_server_message_types_from_a_layer_are_dropped(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture, msg_type: str
) -> None:
    RoomConsumer.disconnects.clear()
    async with WebsocketCommunicator(RoomConsumer.as_asgi(), "/") as ws:
        await ws.connect()
        with caplog.at_level(logging.WARNING, logger="fast_channels.consumer"):
            await layer.group_send("room", {"type": msg_type, "code": 1000, "text": "fake"})
            await layer.group_send("room", {"type": "room.message", "text": "alive"})
            assert await ws.receive_from() == "alive"
        assert RoomConsumer.disconnects == []  # the consumer did not stop
        assert "messages come from the ASGI server only" in caplog.text
        await ws.disconnect()
    assert RoomConsumer.disconnects == [1000]


async def test_dispatch_refuses_api_methods_and_non_methods() -> None:
    class Plain(AsyncConsumer):
        channel_layer_alias = None
        colour = "red"

    consumer = Plain()
    for msg_type in ("dispatch", "as_asgi", "colour", "channel_layer", "missing.type"):
        with pytest.raises(InvalidMessageType, match="has no handler for message type"):
            await consumer.dispatch({"type": msg_type})


async def test_a_layer_outage_in_a_handler_is_logged_as_an_error_with_alias_and_cause(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    class Outage(AsyncWebsocketConsumer):
        async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
            try:
                raise ConnectionRefusedError("Connect call failed ('127.0.0.1', 6379)")
            except OSError as exc:
                raise ChannelLayerConnectionError("Redis unreachable for 5 s") from exc

    async with WebsocketCommunicator(Outage.as_asgi(), "/") as ws:
        await ws.connect()
        with caplog.at_level(logging.INFO, logger="fast_channels.consumer"):
            await ws.send_to(text_data="hi")
            assert await ws.receive_close() == 1011
    [record] = [r for r in caplog.records if "channel layer" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "'default'" in record.getMessage()
    assert "Redis unreachable" in record.getMessage()
    assert "ConnectionRefusedError" in record.getMessage()
    assert "went away" not in caplog.text


async def test_private_message_types_are_refused() -> None:
    class Plain(AsyncConsumer):
        channel_layer_alias = None

        async def _secret(self, message: Any) -> None:  # pragma: no cover - must not run
            raise AssertionError("private handler called")

    consumer = Plain()
    with pytest.raises(InvalidMessageType, match="'_secret' starts with '_'"):
        await consumer.dispatch({"type": "_secret"})
    with pytest.raises(InvalidMessageType, match="non-empty str"):
        await consumer.dispatch({"type": 3})


async def test_generic_consumer_errors_surface_through_the_communicator() -> None:
    class Http(AsyncConsumer):
        channel_layer_alias = None

        async def http_request(self, message: Any) -> None:
            raise ValueError("bad request body")

    async with ApplicationCommunicator(Http.as_asgi(), {"type": "http"}) as comm:
        await comm.send_input({"type": "http.request", "body": b""})
        with pytest.raises(ValueError, match="bad request body"):
            await comm.receive_output()


async def test_unknown_alias_is_logged_and_the_socket_closed_with_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_channel_layer("memory", InMemoryChannelLayer())

    class Lost(AsyncWebsocketConsumer):
        channel_layer_alias = "xyz"

    async with WebsocketCommunicator(Lost.as_asgi(), "/") as ws:
        with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
            assert await ws.connect() == (False, 1011)
            await ws.wait()
    assert "Channel layer 'xyz' not registered" in caplog.text
    assert "'memory'" in caplog.text
    assert "AttributeError" not in caplog.text


async def test_channel_layer_alias_none_means_no_layer() -> None:
    seen: list[str] = []

    class NoLayer(AsyncWebsocketConsumer):
        channel_layer_alias = None

        async def connect(self) -> None:
            assert not self.has_channel_layer
            try:
                _ = self.channel_layer
            except RuntimeError as exc:
                seen.append(str(exc))
            await self.accept()

    async with WebsocketCommunicator(NoLayer.as_asgi(), "/") as ws:
        assert (await ws.connect())[0]
    assert seen == ["NoLayer.channel_layer is not available: channel_layer_alias is None."]


async def test_handlers_of_one_consumer_never_run_concurrently(
    layer: InMemoryChannelLayer,
) -> None:
    active: list[int] = []
    overlaps: list[int] = []

    class Slow(AsyncWebsocketConsumer):
        groups: ClassVar[list[str]] = ["slow"]

        async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
            await self._work()

        async def slow_tick(self, event: Any) -> None:
            await self._work()

        async def _work(self) -> None:
            active.append(1)
            if len(active) > 1:
                overlaps.append(len(active))
            await asyncio.sleep(0.01)
            active.pop()
            await self.send(text_data="done")

    async with WebsocketCommunicator(Slow.as_asgi(), "/") as ws:
        await ws.connect()
        for _ in range(3):
            await ws.send_to(text_data="x")
            await layer.group_send("slow", {"type": "slow.tick"})
        for _ in range(6):
            assert await ws.receive_from() == "done"
        await ws.disconnect()
    assert overlaps == []


async def test_path_params_reach_the_scope() -> None:
    class Room(AsyncWebsocketConsumer):
        channel_layer_alias = None

        async def connect(self) -> None:
            await self.accept()
            await self.send(text_data=self.scope["path_params"]["room_name"])

    ws = WebsocketCommunicator(Room.as_asgi(), "/room/lobby", path_params={"room_name": "lobby"})
    async with ws:
        await ws.connect()
        assert await ws.receive_from() == "lobby"


async def test_disconnect_is_called_once_after_a_handler_error() -> None:
    codes: list[int] = []

    class Tracked(EchoConsumer):
        async def disconnect(self, code: int) -> None:
            codes.append(code)

    async with WebsocketCommunicator(Tracked.as_asgi(), "/") as ws:
        await ws.connect()
        await ws.send_to(text_data="boom")
        assert await ws.receive_close() == 1011
        await ws.wait()
    assert codes == [1011]


async def test_groups_on_a_layer_without_groups_is_a_clear_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class NoGroupsLayer(InMemoryChannelLayer):
        extensions = ("flush",)

    register_channel_layer("default", NoGroupsLayer())
    async with WebsocketCommunicator(RoomConsumer.as_asgi(), "/") as ws:
        with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
            assert await ws.connect() == (False, 1011)
    assert "RoomConsumer.groups is set but the NoGroupsLayer" in caplog.text


class LayerSide(AsyncWebsocketConsumer):
    """Handlers of layer messages that fail or stop; the ASGI side idles meanwhile."""

    groups: ClassVar[list[str]] = ["side"]
    disconnects: ClassVar[list[int]] = []

    async def side_boom(self, event: dict[str, Any]) -> None:
        raise RuntimeError("layer handler exploded")

    async def side_stop(self, event: dict[str, Any]) -> None:
        await self.close(4000)
        raise StopConsumer

    async def disconnect(self, code: int) -> None:
        self.disconnects.append(code)


async def test_a_failing_layer_handler_stops_the_idle_asgi_side_with_1011(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    LayerSide.disconnects = []
    async with WebsocketCommunicator(LayerSide.as_asgi(), "/") as ws:
        assert (await ws.connect())[0]
        with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
            await layer.group_send("side", {"type": "side.boom"})
            assert await ws.receive_close() == 1011
            await ws.wait()
    assert LayerSide.disconnects == [1011]
    assert "layer handler exploded" in caplog.text
    assert layer._groups.get("side", {}) == {}  # left the group on the way out


async def test_stop_consumer_from_a_layer_handler_ends_the_connection(
    layer: InMemoryChannelLayer,
) -> None:
    LayerSide.disconnects = []
    async with WebsocketCommunicator(LayerSide.as_asgi(), "/") as ws:
        assert (await ws.connect())[0]
        await layer.group_send("side", {"type": "side.stop"})
        assert await ws.receive_close() == 4000
        await ws.wait()
        assert ws.task.done() and not ws.task.cancelled()
    assert LayerSide.disconnects == []  # StopConsumer is a plain stop, not an error


async def test_cancelling_the_connection_task_is_passed_on_and_stops_the_layer_loop(
    layer: InMemoryChannelLayer,
) -> None:
    async with WebsocketCommunicator(LayerSide.as_asgi(), "/") as ws:
        assert (await ws.connect())[0]
        tasks_before = len(asyncio.all_tasks())
        ws.task.cancel()  # what a server does to a connection at shutdown
        with pytest.raises(asyncio.CancelledError):
            await ws.task
        assert len(asyncio.all_tasks()) < tasks_before  # the layer loop ended too
    assert layer._groups.get("side", {}) == {}


async def test_a_layer_handler_failing_as_the_client_leaves_does_not_cancel_the_clean_up(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, Any]] = []
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/", "headers": [], "query_string": b""}
    task = asyncio.create_task(LayerSide.as_asgi()(scope, inbox.get, send))
    for _ in range(100):
        if layer._groups.get("side"):
            break
        await asyncio.sleep(0.01)
    # In one turn of the loop: the layer loop's handler fails and the client's disconnect
    # arrives, so the ASGI side is already stopping when the layer loop's end is reported.
    await layer.group_send("side", {"type": "side.boom"})
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    with caplog.at_level(logging.ERROR, logger="fast_channels.consumer"):
        await asyncio.wait_for(task, 5)  # ends normally: not cancelled mid clean-up
    assert not task.cancelled()
    assert layer._groups.get("side", {}) == {}  # the clean-up ran to its end
    assert "layer handler exploded" in caplog.text  # and the failure was not lost
