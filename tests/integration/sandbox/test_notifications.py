"""Notifications: from the page, from HTTP and from another process, to every page."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
from fast_channels.testing import HttpCommunicator, ServerSentEvent

from sandbox.features.notifications.push import push_notification

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
        assert event.id is not None and ":" in event.id  # the group position
        await stream.disconnect()
    await ws.disconnect()


async def test_an_sse_stream_that_reconnects_with_last_event_id_misses_nothing(app: Any) -> None:
    async def stream_events(last_event_id: str | None, count: int) -> list[ServerSentEvent]:
        headers = [("last-event-id", last_event_id)] if last_event_id else []
        async with HttpCommunicator(app, "GET", "/sse/notifications", headers=headers) as stream:
            assert (await stream.get_response_start())[0] == 200
            await stream.receive_event(comments=True)  # the opening comment: joined
            if last_event_id is None:
                await push_notification("before the drop", source="http")
            events = [await stream.receive_event(timeout=5) for _ in range(count)]
            if last_event_id is not None:  # then live, after the replay
                await push_notification("live again", source="http")
                events.append(await stream.receive_event(timeout=5))
            assert await stream.receive_nothing(timeout=0.2)  # nothing twice
            await stream.disconnect()
        return events

    [first] = await stream_events(None, 1)
    for text in ("while away 1", "while away 2"):  # nobody is streaming now
        await push_notification(text, source="http")
    rest = await stream_events(first.id, 2)

    texts = [json.loads(event.data)["text"] for event in (first, *rest)]
    assert texts == ["before the drop", "while away 1", "while away 2", "live again"]
    assert {event.event for event in (first, *rest)} == {"notification"}


async def test_an_sse_stream_with_a_stale_last_event_id_gets_recovery_failed(app: Any) -> None:
    await push_notification("one", source="http")  # the group has a history epoch now
    headers = [("last-event-id", "0:1")]  # a position from another epoch
    async with HttpCommunicator(app, "GET", "/sse/notifications", headers=headers) as stream:
        assert (await stream.get_response_start())[0] == 200
        failed = await stream.receive_event(timeout=5)
        assert (failed.event, json.loads(failed.data)) == ("recovery.failed", {"reason": "epoch"})
        await push_notification("live", source="http")  # and it is live after that
        assert json.loads((await stream.receive_event(timeout=5)).data)["text"] == "live"
        await stream.disconnect()
