"""Job queue: the page's consumer enqueues in arq, a real worker process reports back."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from sandbox.app import create_app
from sandbox.settings import Settings

from .conftest import connect, needs_redis

pytestmark = needs_redis


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
    ws = await connect(app, "/ws/jobs")
    assert (await ws.receive_json_from())["type"] == "ready"
    job_id = await submit(ws, "sum", 4)
    events = (await events_until_done(ws, {job_id}))[job_id]
    progress = [e for e in events if e["type"] == "job.progress"]
    assert [e["percent"] for e in progress] == [25, 50, 75, 100]
    assert [e["step"] for e in progress] == [1, 2, 3, 4]
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
    ws = await connect(app, "/ws/jobs")
    await ws.receive_json_from()
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
    ws = await connect(app, "/ws/jobs")
    await ws.receive_json_from()
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
    ann = await connect(app, "/ws/jobs")
    bob = await connect(app, "/ws/jobs")
    await ann.receive_json_from()
    await bob.receive_json_from()
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
    ws = await connect(app, "/ws/jobs")
    await ws.receive_json_from()
    await ws.send_json_to(message)
    error = await ws.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid_message")
    assert needle in error["message"]
    await ws.disconnect()


async def test_without_redis_jobs_explain_why_they_cannot_run() -> None:
    app = create_app(Settings(layers="memory"))
    async with app.router.lifespan_context(app):
        ws = await connect(app, "/ws/jobs")
        await ws.receive_json_from()
        await ws.send_json_to({"type": "submit", "kind": "sum", "steps": 2})
        error = await ws.receive_json_from()
        assert error["code"] == "queue_unavailable"
        assert "Jobs need Redis" in error["message"]
        await ws.disconnect()
