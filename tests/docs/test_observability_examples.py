"""The observability guide: its examples run, and its one metric table is what we export."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fast_channels.consumer.websocket import AsyncWebsocketConsumer
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.metrics import is_enabled, reset_consumer_stats
from fast_channels.testing import WebsocketCommunicator

from .conftest import DOCS, example

GUIDE = DOCS / "guides" / "observability.rst"


def documented_names() -> list[str]:
    """The names in the guide's metric table (its first list-table)."""
    table = GUIDE.read_text().split(".. list-table:: Every metric", 1)[1].split("\n\n.. ", 1)[0]
    return re.findall(r"^    \* - ``(fast_channels_\w+)``", table, re.M)


def exported(text: str) -> dict[str, int]:
    """Metric family name -> number of samples, from a Prometheus text exposition."""
    families = {m: 0 for m in re.findall(r"^# TYPE (\S+) \w+$", text, re.M)}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            sample = line.split("{", 1)[0].split(" ", 1)[0]
            family = next(f for f in families if sample.startswith(f))
            families[family] += 1
    return families


@pytest.fixture
def counting() -> Iterator[None]:
    assert is_enabled()
    reset_consumer_stats()
    yield
    reset_consumer_stats()


async def test_the_snapshot_example_prints_what_happened(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await example("metrics_snapshot").main()
    assert capsys.readouterr().out.splitlines() == [
        "group_send reached 1 of 2 members",
        "dropped: 1 to a full channel",
        "default InMemoryChannelLayer 2 memberships",
    ]


def test_the_switch_example_turns_counting_off_for_new_layers() -> None:
    configure = example("metrics_off").configure_metrics
    configure(False)
    try:
        assert not InMemoryChannelLayer().stats().enabled
    finally:
        configure(True)
    assert InMemoryChannelLayer().stats().enabled


class Echo(AsyncWebsocketConsumer):
    channel_layer_alias = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)


@pytest.mark.redis
async def test_get_metrics_exports_exactly_the_documented_names(
    counting: None, redis_url: str
) -> None:
    pytest.importorskip("prometheus_client")  # the [prometheus] extra
    from fast_channels.layers.redis import RedisChannelLayer

    memory = register_channel_layer("default", InMemoryChannelLayer())
    queue = register_channel_layer(
        "queue", RedisChannelLayer(hosts=[redis_url], prefix=f"d{uuid.uuid4().hex[:8]}")
    )
    async with queue:
        await memory.send("c", {"type": "m"})
        channel = await queue.new_channel()
        await queue.send(channel, {"type": "m"})
        assert await queue.receive(channel) == {"type": "m"}
        comm = WebsocketCommunicator(Echo.as_asgi(), "/")
        await comm.connect()
        await comm.send_to(text_data="hi")
        assert await comm.receive_from() == "hi"
        await comm.disconnect()

        app = example("metrics_endpoint").app
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = exported(response.text)
    names = documented_names()
    assert len(names) == len(set(names)) == 25
    assert sorted(families) == sorted(names)
    assert all(families.values()), {f: n for f, n in families.items() if not n}  # each has data
    assert (
        'fast_channels_layer_messages_sent_total{alias="queue",layer="RedisChannelLayer"} 1.0'
        in (response.text)
    )
