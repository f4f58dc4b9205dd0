"""The web side of the job queue: enqueue arq jobs from consumers.

One :class:`JobQueue` per web process, created by the app factory and closed
in its lifespan. The arq connection pool opens on the first job, so building
the app does no I/O.
"""

from __future__ import annotations

import asyncio

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings

from ...settings import Settings
from .contract import RUN_JOB


class QueueUnavailable(RuntimeError):
    """Jobs cannot be enqueued (no Redis configured, or Redis unreachable)."""


class JobQueue:
    """Enqueue ``run_job`` in arq for the worker process."""

    def __init__(self, settings: Settings) -> None:
        self.redis_url = settings.redis_url if settings.layers == "redis" else None
        self.queue_name = settings.job_queue
        self._pool: ArqRedis | None = None
        self._lock = asyncio.Lock()

    async def enqueue(self, job_id: str, kind: str, steps: int, group: str) -> None:
        """Queue one job; the worker will report to ``group`` on the jobs layer."""
        pool = await self._get_pool()
        try:
            job = await pool.enqueue_job(
                RUN_JOB,
                job_id,
                kind,
                steps,
                group,
                _job_id=job_id,
                _queue_name=self.queue_name,
            )
        except OSError as exc:
            raise QueueUnavailable(f"Could not reach Redis to queue the job: {exc}") from exc
        if job is None:
            raise QueueUnavailable(f"A job with id {job_id!r} is already queued.")

    async def _get_pool(self) -> ArqRedis:
        if self.redis_url is None:
            raise QueueUnavailable(
                "Jobs need Redis: run with SANDBOX_LAYERS=redis and REDIS_URL set "
                "(python -m sandbox does both), plus the worker."
            )
        async with self._lock:
            if self._pool is None:
                try:
                    self._pool = await create_pool(
                        RedisSettings.from_dsn(self.redis_url), default_queue_name=self.queue_name
                    )
                except OSError as exc:
                    raise QueueUnavailable(f"Could not reach Redis: {exc}") from exc
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
