"""Fixtures for the sandbox tests: the app on real Redis, a real arq worker, clients.

``SANDBOX_TEST_LAYERS=memory`` runs the single-process features on in-memory
layers (tests that need Redis or the worker are then skipped).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal, cast

import pytest
from fast_channels.testing import WebsocketCommunicator
from fastapi import FastAPI

from sandbox.app import create_app
from sandbox.redis_process import free_port
from sandbox.settings import Settings
from sandbox.supervisor import Child, wait_for_http
from tests.sandbox_env import ROOT
from tests.sandbox_env import sandbox_env as shared_sandbox_env

LAYERS = cast(Literal["redis", "memory"], os.environ.get("SANDBOX_TEST_LAYERS", "redis"))
ORIGIN = ("origin", "http://localhost:8080")
#: Worker steps are short so a job takes a fraction of a second.
STEP_SECONDS = "0.05"

needs_redis = pytest.mark.skipif(LAYERS != "redis", reason="needs the Redis layers")


@pytest.fixture(scope="session")
def job_queue_name() -> str:
    """A queue of our own, so a stray worker elsewhere cannot take our jobs."""
    return f"sandbox-test:{uuid.uuid4().hex[:8]}"


def sandbox_env(redis_url: str, job_queue_name: str, **extra: str) -> dict[str, str]:
    """Environment for sandbox child processes, with short job steps."""
    return shared_sandbox_env(
        redis_url, job_queue_name, SANDBOX_JOB_STEP_SECONDS=STEP_SECONDS, **extra
    )


@pytest.fixture
def settings(redis_url: str, job_queue_name: str) -> Settings:
    return Settings(
        redis_url=redis_url if LAYERS == "redis" else None,
        layers=LAYERS,
        job_queue=job_queue_name,
        rate_limit=5,
        rate_burst=10,
        max_message_bytes=1000,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The sandbox app with its lifespan running (which closes the layers after)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def client(app: Any, path: str, origin: tuple[str, str] | None = ORIGIN) -> WebsocketCommunicator:
    """A WebSocket client for ``path`` sending an allowed ``Origin`` by default."""
    return WebsocketCommunicator(app, path, headers=[origin] if origin else [])


async def connect(app: Any, path: str) -> WebsocketCommunicator:
    """Connect and return the communicator; the caller disconnects it."""
    ws = client(app, path)
    connected, detail = await ws.connect()
    assert connected, f"{path} was refused: {detail}"
    return ws


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child we started (SIGTERM, then SIGKILL), by its pid."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def worker(
    redis_url: str, job_queue_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A real arq worker process (``python -m worker``) on the test queue.

    Its output goes to ``worker.log`` in the session's temporary directory.
    """
    if LAYERS != "redis":
        pytest.skip("the worker needs the Redis layers")
    log = (tmp_path_factory.mktemp("worker") / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=sandbox_env(redis_url, job_queue_name),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    stop_process(proc)
    log.close()


@pytest.fixture
def live_web(redis_url: str, job_queue_name: str) -> Iterator[str]:
    """``python -m sandbox.web`` on a free port (real uvicorn); yields its base URL."""
    if LAYERS != "redis":
        pytest.skip("the live web app runs on the Redis layers")
    port = free_port()
    env = sandbox_env(redis_url, job_queue_name, SANDBOX_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http("127.0.0.1", port, [Child("web app", proc)])
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every sandbox test ``redis`` (they run against real Redis by default)."""
    here = Path(__file__).parent
    for item in items:
        if LAYERS == "redis" and here in item.path.parents:
            item.add_marker(pytest.mark.redis)
