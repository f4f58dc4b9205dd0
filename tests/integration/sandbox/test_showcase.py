"""Showcase: one socket per layer, sends from the page, HTTP and an external script."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from fast_channels.layers import registered_aliases
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from .conftest import LAYERS, ROOT, needs_redis, sandbox_env
from .conftest import connect as ws_connect

EXPECTED_KINDS = {
    "redis": {
        "chat": "RedisPubSubChannelLayer",
        "notifications": "RedisPubSubChannelLayer",
        "jobs": "RedisChannelLayer",
        "memory": "InMemoryChannelLayer",
    },
    "memory": dict.fromkeys(["chat", "notifications", "jobs", "memory"], "InMemoryChannelLayer"),
}[LAYERS]


async def test_every_layer_type_is_registered_and_served(app: Any) -> None:
    assert set(registered_aliases()) == set(EXPECTED_KINDS)
    for alias, kind in EXPECTED_KINDS.items():
        ws = await ws_connect(app, f"/ws/showcase/{alias}")
        ready = await ws.receive_json_from()
        assert ready.pop("served_by").endswith(f"pid {os.getpid()}")  # in-process app
        assert ready == {"type": "ready", "layer": alias, "kind": kind}
        await ws.disconnect()


async def test_a_send_through_one_layer_is_delivered_by_that_layer_only(app: Any) -> None:
    sockets = {alias: await ws_connect(app, f"/ws/showcase/{alias}") for alias in EXPECTED_KINDS}
    for ws in sockets.values():
        await ws.receive_json_from()
    for alias, ws in sockets.items():
        await ws.send_json_to({"type": "broadcast", "text": f"via {alias}"})
        delivery = await ws.receive_json_from(timeout=5)
        assert delivery["type"] == "delivery"
        assert (delivery["layer"], delivery["kind"]) == (alias, EXPECTED_KINDS[alias])
        assert (delivery["text"], delivery["source"]) == (f"via {alias}", "page")
        for other_alias, other in sockets.items():
            if other_alias != alias:
                assert await other.receive_nothing(timeout=0.05)
    for ws in sockets.values():
        await ws.disconnect()


async def test_http_endpoint_sends_through_a_named_layer(app: Any) -> None:
    ws = await ws_connect(app, "/ws/showcase/memory")
    await ws.receive_json_from()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        ok = await http.post("/api/showcase/memory", json={"text": "over http"})
        assert ok.status_code == 202
        delivery = await ws.receive_json_from(timeout=5)
        assert (delivery["layer"], delivery["source"], delivery["text"]) == (
            "memory",
            "http",
            "over http",
        )
        unknown = await http.post("/api/showcase/nope", json={"text": "x"})
        assert unknown.status_code == 404
        assert "Channel layer 'nope' not registered" in unknown.json()["detail"]
        layers = (await http.get("/api/layers")).json()
        assert {item["alias"]: item["kind"] for item in layers} == EXPECTED_KINDS
    await ws.disconnect()


async def test_pages_render(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        for path in ("/", "/echo", "/chat", "/notifications", "/jobs", "/showcase"):
            page = await http.get(path)
            assert page.status_code == 200, path
            assert 'data-testid="error"' in page.text
        showcase = (await http.get("/showcase")).text
        for alias in EXPECTED_KINDS:
            assert f'data-layer="{alias}"' in showcase
        assert (await http.get("/static/js/socket.js")).status_code == 200


async def _read_deliveries(sockets: dict[str, ClientConnection]) -> dict[str, dict[str, Any]]:
    async def one(ws: ClientConnection) -> dict[str, Any]:
        while True:
            event: dict[str, Any] = json.loads(await ws.recv())
            if event["type"] == "delivery":
                return event

    results = await asyncio.wait_for(
        asyncio.gather(*(one(ws) for ws in sockets.values())), timeout=15
    )
    return dict(zip(sockets, results, strict=True))


@needs_redis
async def test_external_sender_reaches_every_layer(
    live_web: str, redis_url: str, job_queue_name: str
) -> None:
    """Real uvicorn, real WebSocket clients, and ``python -m sandbox.showcase_send``."""
    ws_base = live_web.replace("http://", "ws://")
    origin = {"Origin": live_web}
    sockets = {
        alias: await connect(f"{ws_base}/ws/showcase/{alias}", additional_headers=origin)
        for alias in EXPECTED_KINDS
    }
    try:
        for ws in sockets.values():
            assert json.loads(await ws.recv())["type"] == "ready"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox.showcase_send",
            "from outside",
            "--url",
            live_web,
            cwd=ROOT,
            env=sandbox_env(redis_url, job_queue_name),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, out.decode() + err.decode()
        report = out.decode()
        assert "memory" in report and "process-local" in report
        deliveries = await _read_deliveries(sockets)
        for alias, delivery in deliveries.items():
            assert delivery["text"] == "from outside"
            assert delivery["layer"] == alias
            # Redis layers are reached directly; memory only through the web app.
            assert delivery["source"] == ("http" if alias == "memory" else "cli")
    finally:
        for ws in sockets.values():
            await ws.close()


@needs_redis
async def test_real_server_rejects_foreign_origin_with_403(live_web: str) -> None:
    ws_base = live_web.replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{ws_base}/ws/echo", additional_headers={"Origin": "https://evil.example"})
    assert refused.value.response.status_code == 403


@needs_redis
def test_external_sender_reports_an_unreachable_web_app(
    redis_url: str, job_queue_name: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.showcase_send", "x", "--url", "http://127.0.0.1:9"],
        cwd=ROOT,
        env=sandbox_env(redis_url, job_queue_name),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    memory_line = next(line for line in result.stdout.splitlines() if line.startswith("memory"))
    assert "FAILED" in memory_line
    assert "Traceback" not in result.stdout + result.stderr
