"""The jobs consumer: submit over the WebSocket, hear back from the worker.

The consumer's ``channel_name`` comes from the "jobs" layer, a Redis *queue*
layer. It travels with the job to the worker, which sends progress to that
channel with ``await layer.send(channel_name, {...})``. Events wait in Redis
until this consumer reads them, so a busy consumer misses none.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...layers import JOBS
from ..base import BadAction, SandboxJsonConsumer
from .contract import JOB_KINDS, MAX_STEPS, MIN_STEPS
from .queue import JobQueue, QueueUnavailable


class JobsConsumer(SandboxJsonConsumer):
    """Submits jobs for one page and relays the worker's events to it."""

    channel_layer_alias = JOBS

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"type": "ready", "kinds": JOB_KINDS})

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
        queue: JobQueue = self.scope["app"].state.job_queue
        try:
            await queue.enqueue(job_id, kind, steps, self.channel_name)
        except QueueUnavailable as exc:
            await self.send_error("queue_unavailable", str(exc))
            return
        await self.send_json({"type": "job.queued", "job_id": job_id, "kind": kind, "steps": steps})

    # Events from the worker, through the "jobs" layer --------------------------------

    async def job_progress(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def job_completed(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def job_failed(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
