"""Environment for sandbox child processes started by tests (web app, worker, scripts)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sandbox_env(redis_url: str, job_queue: str, **extra: str) -> dict[str, str]:
    """Our settings only: none of the caller's SANDBOX_* / REDIS_* leak into the child.

    ``job_queue`` is a queue of the test's own, so a stray worker elsewhere
    cannot take its jobs.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "REDIS_"))}
    env.update(
        REDIS_URL=redis_url,
        SANDBOX_LAYERS="redis",
        SANDBOX_JOB_QUEUE=job_queue,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env
