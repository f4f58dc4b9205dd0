"""The jobs consumer: submit over the WebSocket, hear back from the worker.

Jobs belong to the browser *session* (the ``sandbox_session`` cookie the jobs
page sets), not to one socket: each session has a group on the "jobs" layer,
``jobs.session.<id>``, with history (``JOBS_HISTORY`` in ``sandbox/layers.py``).
The group's name travels with the job to the worker, which reports with
``await layer.group_send(group, {...})``. So a reloaded page, or a second tab,
joins the same group, replays the session's recent events and shows each job's
current state; then live events follow, each once.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fast_channels.exceptions import ChannelLayerConnectionError
from starlette.requests import HTTPConnection

from ...layers import JOBS
from ..base import BadAction
from ..resume import ResumingConsumer, after_param
from .contract import FAILED, JOB_KINDS, MAX_STEPS, MIN_STEPS, QUEUED
from .queue import JobQueue, QueueUnavailable

#: The cookie that names a browser session (set by the jobs page, see routes.py).
SESSION_COOKIE = "sandbox_session"
SESSION_RE = re.compile(r"^[0-9a-f]{32}$")


def new_session_id() -> str:
    """A fresh, unguessable session id: whoever knows it sees that session's jobs."""
    return uuid.uuid4().hex


def session_group(session_id: str) -> str:
    """The group of a browser session's jobs."""
    return f"jobs.session.{session_id}"


class JobsConsumer(ResumingConsumer):
    """Submits jobs for one browser session and relays the worker's events to its pages."""

    channel_layer_alias = JOBS

    group: str = ""

    async def connect(self) -> None:
        await self.accept()
        session = HTTPConnection(self.scope).cookies.get(SESSION_COOKIE)
        if session is not None and not SESSION_RE.match(session):
            await self.send_error(
                "invalid_session",
                f"The {SESSION_COOKIE} cookie is not a session id; reload the page for a new "
                "one. Jobs submitted now show in this page only.",
            )
            session = None
        # No cookie (a client that is not the jobs page): a session of this socket only.
        self.group = session_group(session or new_session_id())
        await self.send_json({"type": "ready", "kinds": JOB_KINDS})
        # Replays this session's recent job events (or what a reconnecting page missed).
        await self.resume(self.group, after_param(self.scope))

    async def action_submit(self, content: dict[str, Any]) -> None:
        """``{"type": "submit", "kind": "sum", "steps": 5}``: queue a job for the worker."""
        kind = content.get("kind")
        steps = content.get("steps", 5)
        if kind not in JOB_KINDS:
            raise BadAction(f"Unknown job kind {kind!r}; choose one of {sorted(JOB_KINDS)}.")
        if (
            not isinstance(steps, int)
            or isinstance(steps, bool)
            or not MIN_STEPS <= steps <= MAX_STEPS
        ):
            raise BadAction(f'"steps" must be a whole number from {MIN_STEPS} to {MAX_STEPS}.')
        job_id = uuid.uuid4().hex[:12]
        layer = self.channel_layer
        # Announced to the session first, so every page of it has the row before any
        # progress event can arrive (they all go through the group, in order).
        queued = {"type": QUEUED, "job_id": job_id, "kind": kind, "steps": steps}
        try:
            await layer.group_send(self.group, queued)
        except ChannelLayerConnectionError as exc:
            # Nothing was queued; this page hears why, and its socket stays open.
            await self.send_error("queue_unavailable", f"Could not reach Redis: {exc}")
            return
        queue: JobQueue = self.scope["app"].state.job_queue
        try:
            await queue.enqueue(job_id, kind, steps, self.group)
        except QueueUnavailable as exc:
            await layer.group_send(
                self.group, {"type": FAILED, "job_id": job_id, "error": str(exc)}
            )
            await self.send_error("queue_unavailable", str(exc))

    # Events of this session's jobs, through the group on the "jobs" layer -------------

    async def job_queued(self, event: dict[str, Any]) -> None:
        await self.send_json(self.page_frame(event, **event))

    async def job_progress(self, event: dict[str, Any]) -> None:
        await self.send_json(self.page_frame(event, **event))

    async def job_completed(self, event: dict[str, Any]) -> None:
        await self.send_json(self.page_frame(event, **event))

    async def job_failed(self, event: dict[str, Any]) -> None:
        await self.send_json(self.page_frame(event, **event))
