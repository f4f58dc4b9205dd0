"""``python -m sandbox``: one command starts Redis, web app and worker; Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed; used for pids only
import pytest
from websockets.asyncio.client import connect

from sandbox.redis_process import free_port
from tests.e2e.processes import consecutive_free_ports

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
        # Children first: they hold the output pipe open, and a test that failed
        # before Ctrl-C must not leave web processes (or a hung reader) behind.
        if self.proc.poll() is None:
            children = psutil.Process(self.proc.pid).children(recursive=True)
            self.proc.kill()
            self.proc.wait()
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
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


async def chat_across_processes(first: int, second: int) -> tuple[dict[str, object], str, str]:
    """Ann on the first web process, Bob on the second, one room; what Bob gets from Ann."""
    room = "scale-out"

    async def join(port: int, name: str) -> Any:
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        ws = await connect(
            f"ws://127.0.0.1:{port}/ws/room/{room}?name={name}", additional_headers=origin
        )
        assert json.loads(await ws.recv())["type"] == "joined"
        return ws

    async def served_by(port: int) -> str:
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        async with connect(
            f"ws://127.0.0.1:{port}/ws/showcase/chat", additional_headers=origin
        ) as ws:
            ready = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return str(ready["served_by"])

    ann = await join(first, "ann")
    bob = await join(second, "bob")
    try:
        await ann.send(json.dumps({"type": "message", "text": "hello from the other process"}))
        while True:
            event: dict[str, object] = json.loads(await asyncio.wait_for(bob.recv(), 10))
            if event["type"] == "message":
                break
    finally:
        await ann.close()
        await bob.close()
    return event, await served_by(first), await served_by(second)


def test_several_web_processes_share_one_room() -> None:
    first = consecutive_free_ports(2)
    runner = Runner("--port", str(first), "--web-processes", "2", env=clean_env())
    try:
        url_line = runner.wait_for("running at")
        assert f"http://127.0.0.1:{first}" in url_line
        assert f"http://127.0.0.1:{first + 1}" in url_line
        children = psutil.Process(runner.proc.pid).children(recursive=True)
        webs = [c for c in children if "sandbox.web" in " ".join(c.cmdline())]
        assert len(webs) == 2, [c.cmdline() for c in children]

        event, one, two = asyncio.run(chat_across_processes(first, first + 1))
        assert event["name"] == "ann" and event["text"] == "hello from the other process"
        assert one.startswith(f"port {first},") and two.startswith(f"port {first + 1},")
        assert one.split("pid ")[1] != two.split("pid ")[1]  # two processes, not one

        runner.proc.send_signal(signal.SIGINT)
        assert runner.proc.wait(timeout=60) == 0
    finally:
        runner.kill()
