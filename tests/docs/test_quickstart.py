"""The guide's Quick setup: the lobby app under two real uvicorn processes sharing Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from sandbox.redis_process import free_port

from .conftest import ROOT

pytestmark = pytest.mark.redis


# Generous: a cold interpreter importing FastAPI takes seconds on a loaded 2-core machine.
def wait_for_health(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"the quickstart app on port {port} did not answer in {timeout}s")


@pytest.fixture
def two_servers(redis_url: str) -> Iterator[tuple[int, int]]:
    """``uvicorn myapp.main:app`` twice, as the guide says, on free ports."""
    procs: list[subprocess.Popen[bytes]] = []
    ports = (free_port(), free_port())
    try:
        for port in ports:
            procs.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "uvicorn", "docs.examples.quickstart.main:app"),
                        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                    ],
                    cwd=ROOT,
                    env={**os.environ, "REDIS_URL": redis_url},
                )
            )
        for port, proc in zip(ports, procs, strict=True):
            wait_for_health(port, proc)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def recv(ws: ClientConnection) -> str:
    message = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(message, str)
    return message


async def test_clients_of_two_processes_share_the_lobby(two_servers: tuple[int, int]) -> None:
    first, second = two_servers
    async with connect(f"ws://127.0.0.1:{first}/ws/lobby") as ada:
        assert await recv(ada) == "someone entered the lobby"  # her own arrival
        async with connect(f"ws://127.0.0.1:{second}/ws/lobby") as bob:
            assert await recv(bob) == "someone entered the lobby"
            assert await recv(ada) == "someone entered the lobby"  # Bob, via Redis
            await bob.send("hello from the other process")
            assert await recv(ada) == "hello from the other process"
            assert await recv(bob) == "hello from the other process"
