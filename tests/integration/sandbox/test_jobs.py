"""Job queue: the page's consumer enqueues in arq, a real worker process reports back."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import httpx
import pytest
from fast_channels.testing import WebsocketCommunicator

from sandbox.app import create_app
from sandbox.settings import Settings

from .conftest import ORIGIN, needs_redis

pytestmark = needs_redis


async def open_jobs(app: Any, session: str | None = None, after: str | None = None) -> Any:
    """A jobs socket (of browser session ``session``), read up to the end of its replay."""
    headers = [ORIGIN, *([("cookie", f"sandbox_session={session}")] if session else [])]
    ws = WebsocketCommunicator(app, "/ws/jobs" + (f"?after={after}" if after else ""), headers)
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "ready"
    ws.replayed = []
    while (frame := await ws.receive_json_from(timeout=5))["type"] != "resumed":
        ws.replayed.append(frame)
    return ws


async def submit(ws: Any, kind: str, steps: int) -> str:
    await ws.send_json_to({"type": "submit", "kind": kind, "steps": steps})
    queued = await ws.receive_json_from(timeout=5)
    assert queued["type"] == "job.queued", queued
    assert (queued["kind"], queued["steps"]) == (kind, steps)
    return str(queued["job_id"])


async def events_until_done(ws: Any, job_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Collect events per job until every job in ``job_ids`` completed or failed."""
    events: dict[str, list[dict[str, Any]]] = {job_id: [] for job_id in job_ids}
    pending = set(job_ids)
    while pending:
        event = await ws.receive_json_from(timeout=15)
        events[event["job_id"]].append(event)
        if event["type"] in ("job.completed", "job.failed"):
            pending.discard(event["job_id"])
    return events


async def test_job_reports_progress_then_its_result(
    app: Any, worker: subprocess.Popen[bytes]
) -> None:
    ws = await open_jobs(app)
    job_id = await submit(ws, "sum", 4)
    events = (await events_until_done(ws, {job_id}))[job_id]
    progress = [e for e in events if e["type"] == "job.progress"]
    assert [e["percent"] for e in progress] == [25, 50, 75, 100]
    assert [e["step"] for e in progress] == [1, 2, 3, 4]
    assert isinstance(events[-1].pop("position"), str)
    assert events[-1] == {
        "type": "job.completed",
        "job_id": job_id,
        "result": 10,
        "text": "1 + ... + 4 = 10",
    }
    await ws.disconnect()


async def test_failing_job_reaches_the_page_and_the_worker_survives(
    app: Any, worker: subprocess.Popen[bytes]
) -> None:
    ws = await open_jobs(app)
    failing = await submit(ws, "fail", 4)
    events = (await events_until_done(ws, {failing}))[failing]
    assert [e["type"] for e in events] == ["job.progress", "job.progress", "job.failed"]
    assert events[-1]["error"] == "Failed on purpose at step 3 of 4."

    assert worker.poll() is None, "the worker died with the job"
    after = await submit(ws, "sum", 2)
    assert (await events_until_done(ws, {after}))[after][-1]["result"] == 3
    await ws.disconnect()


async def test_two_jobs_at_once_each_get_their_own_events(
    app: Any, worker: subprocess.Popen[bytes]
) -> None:
    ws = await open_jobs(app)
    first = await submit(ws, "sum", 5)
    second = await submit(ws, "fail", 2)
    events = await events_until_done(ws, {first, second})
    assert events[first][-1]["result"] == 15
    assert len([e for e in events[first] if e["type"] == "job.progress"]) == 5
    assert events[second][-1]["type"] == "job.failed"
    await ws.disconnect()


async def test_jobs_from_two_pages_go_back_to_their_own_page(
    app: Any, worker: subprocess.Popen[bytes]
) -> None:
    ann = await open_jobs(app)
    bob = await open_jobs(app)  # another browser session: not ann's jobs
    job = await submit(ann, "sum", 2)
    assert (await events_until_done(ann, {job}))[job][-1]["result"] == 3
    assert await bob.receive_nothing(timeout=0.3)
    await ann.disconnect()
    await bob.disconnect()


@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ({"type": "submit", "kind": "explode"}, "Unknown job kind 'explode'"),
        ({"type": "submit", "kind": "sum", "steps": 0}, '"steps" must be a whole number'),
        ({"type": "submit", "kind": "sum", "steps": "5"}, '"steps" must be a whole number'),
        ({"type": "submit", "kind": "sum", "steps": 51}, "from 1 to 50"),
    ],
)
async def test_bad_job_requests_get_an_error(
    app: Any, message: dict[str, Any], needle: str
) -> None:
    ws = await open_jobs(app)
    await ws.send_json_to(message)
    error = await ws.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid_message")
    assert needle in error["message"]
    await ws.disconnect()


async def test_without_redis_jobs_explain_why_they_cannot_run() -> None:
    app = create_app(Settings(layers="memory"))
    async with app.router.lifespan_context(app):
        ws = await open_jobs(app)
        await ws.send_json_to({"type": "submit", "kind": "sum", "steps": 2})
        frames = [await ws.receive_json_from() for _ in range(3)]
        error = next(f for f in frames if f["type"] == "error")
        assert error["code"] == "queue_unavailable"
        assert "Jobs need Redis" in error["message"]
        # The row the page got for the job says so too.
        assert [f["type"] for f in frames if f["type"] != "error"] == ["job.queued", "job.failed"]
        await ws.disconnect()


async def test_a_reloaded_page_of_the_session_replays_its_jobs_then_follows_live(
    app: Any, worker: subprocess.Popen[bytes]
) -> None:
    session = uuid.uuid4().hex
    first = await open_jobs(app, session)
    job_id = await submit(first, "sum", 6)
    progress = await first.receive_json_from(timeout=15)
    assert (progress["type"], progress["step"]) == ("job.progress", 1)
    await first.disconnect()  # the page reloads mid-job

    page = await open_jobs(app, session)
    assert page.replayed[0] == {**page.replayed[0], "type": "job.queued", "replay": True}
    assert [f["job_id"] for f in page.replayed] == [job_id] * len(page.replayed)
    steps_seen = [f["step"] for f in page.replayed if f["type"] == "job.progress"]
    live = (await events_until_done(page, {job_id}))[job_id]
    steps_seen += [f["step"] for f in live if f["type"] == "job.progress"]
    assert steps_seen == [1, 2, 3, 4, 5, 6]  # each step once, in order
    assert live[-1]["result"] == 21 and "replay" not in live[-1]

    # A second socket of the same session sees the finished job; another session does not.
    again = await open_jobs(app, session)
    assert again.replayed[-1]["type"] == "job.completed"
    stranger = await open_jobs(app, uuid.uuid4().hex)
    assert stranger.replayed == []
    for ws in (page, again, stranger):
        await ws.disconnect()


async def test_a_bad_session_cookie_gets_an_error_and_a_session_of_its_own(app: Any) -> None:
    ws = WebsocketCommunicator(app, "/ws/jobs", [ORIGIN, ("cookie", "sandbox_session=../../x")])
    assert (await ws.connect())[0]
    error = await ws.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid_session")
    assert (await ws.receive_json_from())["type"] == "ready"
    assert (await ws.receive_json_from())["type"] == "resumed"
    await ws.disconnect()


async def test_the_jobs_page_gives_a_browser_a_session_cookie_once(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.get("/jobs")
        session = first.cookies.get("sandbox_session")
        assert session is not None and len(session) == 32
        second = await client.get("/jobs")
        assert "sandbox_session" not in second.headers.get("set-cookie", "")


async def test_a_submit_while_redis_is_down_gets_an_error_and_the_socket_stays(
    redis_server: Any, job_queue_name: str
) -> None:
    settings = Settings(redis_url=redis_server.url, layers="redis", job_queue=job_queue_name)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        ws = await open_jobs(app)
        redis_server.kill()
        await ws.send_json_to({"type": "submit", "kind": "sum", "steps": 2})
        error = await ws.receive_json_from(timeout=15)
        assert (error["type"], error["code"]) == ("error", "queue_unavailable")
        assert "Could not reach Redis" in error["message"]
        await ws.send_json_to({"type": "submit", "kind": "nope"})  # still served
        assert (await ws.receive_json_from(timeout=5))["code"] == "invalid_message"
        await ws.disconnect()
