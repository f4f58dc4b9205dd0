"""Health: the page, its one-second snapshots over /ws/health, and /metrics for Prometheus."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.docs.test_observability_examples import documented_names

from .conftest import connect as ws_connect


async def get(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.get(path)


async def test_the_health_page_renders_with_its_charts(app: Any) -> None:
    page = await get(app, "/health")
    assert page.status_code == 200
    for testid in ("chart-messages", "chart-deliveries", "chart-links", "chart-sockets"):
        assert f'data-testid="{testid}"' in page.text
    assert 'data-testid="nav-health"' in page.text
    assert (await get(app, "/static/js/health.js")).status_code == 200
    assert (await get(app, "/static/js/charts.js")).status_code == 200


async def test_the_health_socket_sends_a_snapshot_every_second(app: Any) -> None:
    echo = await ws_connect(app, "/ws/echo")  # a socket of another consumer, to be counted
    ws = await ws_connect(app, "/ws/health")
    first = await ws.receive_json_from(timeout=3)
    second = await ws.receive_json_from(timeout=3)
    assert first["type"] == second["type"] == "health"
    assert 0.5 < second["time"] - first["time"] < 3
    aliases = {layer["alias"] for layer in second["layers"]}
    assert {"chat", "notifications", "jobs", "memory"} <= aliases
    assert second["consumers"]["EchoConsumer"]["open"] >= 1
    assert second["consumers"]["HealthConsumer"]["open"] >= 1
    await ws.disconnect()
    await echo.disconnect()


async def test_get_metrics_returns_the_documented_names(app: Any) -> None:
    pytest.importorskip("prometheus_client")
    ws = await ws_connect(app, "/ws/echo")
    await ws.disconnect()
    response = await get(app, "/metrics/")
    assert response.status_code == 200
    families = set(re.findall(r"^# TYPE (\S+) \w+$", response.text, re.M))
    assert families == set(documented_names())
    assert re.search(
        r'fast_channels_layer_messages_sent_total\{alias="chat",layer="\w+"\}', response.text
    )
    assert 'consumer="sandbox.features.echo.consumers.EchoConsumer"' in response.text
