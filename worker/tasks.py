"""The jobs the worker runs. arq calls each as ``await task(ctx, *args)``.

A task reports to the browser session that submitted it by sending to that
session's group on the "jobs" layer (a Redis queue layer, opened once in
``on_startup`` and kept in ``ctx``)::

    await layer.group_send(group, {"type": "job.progress", ...})

The group keeps history, so a page that reloads mid-job replays the events it
missed; a member that is busy gets them from its queue, as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fast_channels.layers import BaseChannelLayer

from sandbox.features.jobs.contract import COMPLETED, FAILED, JOB_KINDS, PROGRESS

logger = logging.getLogger("worker")


class DeliberateFailure(RuntimeError):
    """Raised by the "fail" job kind, to show a failure reaching the page."""


async def run_job(ctx: dict[str, Any], job_id: str, kind: str, steps: int, group: str) -> int:
    """Run one job, sending progress, then a completion or a failure event.

    The failure event is sent before re-raising, so the page learns about it and
    arq still records the job as failed. The worker itself carries on.
    """
    layer: BaseChannelLayer = ctx["jobs_layer"]
    step_seconds: float = ctx["settings"].job_step_seconds
    total = 0
    try:
        if kind not in JOB_KINDS:
            raise ValueError(f"Unknown job kind {kind!r}")
        for step in range(1, steps + 1):
            await asyncio.sleep(step_seconds)
            if kind == "fail" and step > steps // 2:
                raise DeliberateFailure(f"Failed on purpose at step {step} of {steps}.")
            total += step
            await layer.group_send(
                group,
                {
                    "type": PROGRESS,
                    "job_id": job_id,
                    "step": step,
                    "steps": steps,
                    "percent": round(100 * step / steps),
                },
            )
    except Exception as exc:
        logger.info("job %s (%s) failed: %s", job_id, kind, exc)
        await layer.group_send(group, {"type": FAILED, "job_id": job_id, "error": str(exc)})
        raise
    await layer.group_send(
        group,
        {
            "type": COMPLETED,
            "job_id": job_id,
            "result": total,
            "text": f"1 + ... + {steps} = {total}",
        },
    )
    return total
