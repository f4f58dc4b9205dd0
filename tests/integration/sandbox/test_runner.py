"""``python -m sandbox``: one command starts Redis, web app and worker; Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed; used for pids only
import pytest
from websockets.asyncio.client import connect

from sandbox.redis_process import free_port

from .conftest import ROOT

pytestmark = pytest.mark.slow


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no REDIS_URL, no sandbox settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "REDIS_"))}
    env.update(PYTHONPATH=str(ROOT), SANDBOX_JOB_STEP_SECONDS="0.05", **extra)
    return env


class Runner:
    """``python -m sandbox`` as a child, with its output readable line by line."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, needle: str, timeout: float = 60) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"{needle!r} not printed; output so far: {self.seen}"
                ) from None
            self.seen.append(line)
            if needle in line:
                return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def runner_port() -> Iterator[int]:
    yield free_port()


async def run_job_over_websocket(port: int) -> dict[str, object]:
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    async with connect(f"ws://127.0.0.1:{port}/ws/jobs", additional_headers=origin) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(json.dumps({"type": "submit", "kind": "sum", "steps": 3}))
        while True:
            event: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if event["type"] in ("job.completed", "job.failed"):
                return event


def test_one_command_starts_all_three_and_sigint_stops_them(runner_port: int) -> None:
    runner = Runner("--port", str(runner_port), env=clean_env())
    try:
        url_line = runner.wait_for("running at")
        assert f"http://127.0.0.1:{runner_port}" in url_line
        children = psutil.Process(runner.proc.pid).children(recursive=True)
        commands = [" ".join(child.cmdline()) for child in children]
        assert any("redis-server" in c for c in commands), commands
        assert any("sandbox.web" in c for c in commands), commands
        assert any(c.endswith("-m worker") for c in commands), commands

        assert httpx.get(f"http://127.0.0.1:{runner_port}/").status_code == 200
        # The whole stack works: page socket -> arq -> worker -> jobs layer -> page.
        done = asyncio.run(run_job_over_websocket(runner_port))
        assert done["type"] == "job.completed" and done["result"] == 6

        runner.proc.send_signal(signal.SIGINT)
        assert runner.proc.wait(timeout=60) == 0
        runner.wait_for("stopped", timeout=5)
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"still running after Ctrl-C: {alive}"
        with socket.socket() as sock:  # the port is free again (as a server would bind it)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", runner_port))
    finally:
        runner.kill()


def test_busy_port_is_one_line_not_a_traceback(runner_port: int) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", runner_port))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", "--port", str(runner_port)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"sandbox: port {runner_port} on 127.0.0.1 is not available")
    assert "--port" in lines[0]


def test_missing_redis_is_one_line_not_a_traceback(runner_port: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", str(runner_port)],
        cwd=ROOT,
        env=clean_env(REDIS_SERVER="/nonexistent/redis-server"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("sandbox: could not start a private redis-server")
    assert "REDIS_URL" in lines[0]
