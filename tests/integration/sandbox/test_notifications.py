"""Notifications: from the page, from HTTP and from another process, to every page."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
from fast_channels.testing import HttpCommunicator

from .conftest import ROOT, connect, needs_redis, sandbox_env


async def open_page(app: Any) -> Any:
    ws = await connect(app, "/ws/notifications")
    assert (await ws.receive_json_from())["type"] == "ready"
    return ws


async def test_notification_from_a_page_reaches_every_page(app: Any) -> None:
    sender, reader = await open_page(app), await open_page(app)
    await sender.send_json_to({"type": "notify", "text": "<script>alert(1)</script>"})
    for ws in (sender, reader):
        note = await ws.receive_json_from(timeout=5)
        assert note["type"] == "notification"
        assert (note["text"], note["source"]) == ("<script>alert(1)</script>", "page")
    await sender.disconnect()
    await reader.disconnect()


async def test_notification_over_http(app: Any) -> None:
    reader = await open_page(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        response = await http.post("/api/notifications", json={"text": "Deploy finished"})
        assert response.status_code == 202
        assert response.json()["text"] == "Deploy finished"
        note = await reader.receive_json_from(timeout=5)
        assert (note["text"], note["source"]) == ("Deploy finished", "http")

        empty = await http.post("/api/notifications", json={"text": "  "})
        assert empty.status_code == 422
        assert empty.json()["detail"] == "A notification needs some text."
        missing = await http.post("/api/notifications", json={})
        assert missing.status_code == 422
    assert await reader.receive_nothing(timeout=0.2)
    await reader.disconnect()


async def test_empty_notification_from_a_page_is_an_error(app: Any) -> None:
    ws = await open_page(app)
    await ws.send_json_to({"type": "notify", "text": ""})
    error = await ws.receive_json_from()
    assert (error["code"], error["message"]) == (
        "invalid_message",
        "A notification needs some text.",
    )
    await ws.disconnect()


@needs_redis
async def test_notification_from_another_process(
    app: Any, redis_url: str, job_queue_name: str
) -> None:
    reader = await open_page(app)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.notify",
        "Hello from a script",
        cwd=ROOT,
        env=sandbox_env(redis_url, job_queue_name),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    assert "through the 'notifications' layer" in out.decode()
    note = await reader.receive_json_from(timeout=5)
    assert (note["text"], note["source"]) == ("Hello from a script", "cli")
    await reader.disconnect()


def test_notify_without_redis_url_says_so_in_one_line(job_queue_name: str) -> None:
    env = sandbox_env("", job_queue_name)
    del env["REDIS_URL"]
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.notify", "hi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("notify: REDIS_URL is not set")
    assert len(result.stderr.strip().splitlines()) == 1


async def test_notification_reaches_an_sse_stream_and_a_websocket_alike(app: Any) -> None:
    ws = await open_page(app)
    async with HttpCommunicator(app, "GET", "/sse/notifications") as stream:
        status, headers = await stream.get_response_start()
        assert status == 200
        assert dict(headers)[b"content-type"].startswith(b"text/event-stream")
        opening = await stream.receive_event(comments=True)
        assert opening.retry == 2000
        await ws.send_json_to({"type": "notify", "text": "Both ways"})
        event = await stream.receive_event(timeout=5)
        note = await ws.receive_json_from(timeout=5)
        assert event.event == "notification"
        assert json.loads(event.data) == note
        assert event.id == note["id"]
        await stream.disconnect()
    await ws.disconnect()
