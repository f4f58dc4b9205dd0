"""arq configuration: the ``WorkerSettings`` class arq reads.

Built from the same environment as the web app (``REDIS_URL``,
``SANDBOX_JOB_QUEUE``...), through :func:`sandbox.settings.get_settings`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from arq import func
from arq.connections import RedisSettings
from arq.worker import Function
from fast_channels.layers import get_channel_layer

from sandbox.features.jobs.contract import RUN_JOB
from sandbox.layers import JOBS, close_channel_layers, setup_channel_layers
from sandbox.settings import Settings, get_settings

from .tasks import run_job


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings from ``REDIS_URL``; a clear error when it is unset."""
    if not settings.redis_url:
        raise RuntimeError(
            "REDIS_URL is not set: the worker needs the Redis the web app uses "
            "(python -m sandbox sets it for you)."
        )
    return RedisSettings.from_dsn(settings.redis_url)


async def startup(ctx: dict[str, Any]) -> None:
    """Open what every job shares: the settings and the "jobs" layer."""
    settings = get_settings()
    if settings.layers != "redis":
        raise RuntimeError("The worker needs SANDBOX_LAYERS=redis: memory layers are per process.")
    setup_channel_layers(settings)
    ctx["settings"] = settings
    ctx["jobs_layer"] = get_channel_layer(JOBS)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close the layers opened in :func:`startup`."""
    await close_channel_layers()


_settings = get_settings()


class WorkerSettings:
    """Read by ``arq worker.WorkerSettings`` and by ``python -m worker``."""

    functions: ClassVar[list[Function]] = [func(run_job, name=RUN_JOB)]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings(_settings)
    queue_name = _settings.job_queue
    max_jobs = 10
    job_timeout = 300
    keep_result = 60
