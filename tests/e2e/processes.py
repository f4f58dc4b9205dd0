"""The sandbox's own processes for the browser tests: started for real, stopped by pid.

Each :class:`Service` runs one command (``python -m sandbox.web``,
``python -m worker``) with its output in a log file, waits until it is ready,
and can be stopped and started again on the same port. When a test fails, the
conftest shows the tail of every log (see ``pytest_runtest_makereport``).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import redis

from sandbox.redis_process import free_port
from tests.sandbox_env import ROOT

STOP_GRACE_SECONDS = 10.0


class ServiceFailed(RuntimeError):
    """A service exited or never became ready; the message carries its log tail."""


class Service:
    """One long-running child process with a log file and a readiness check."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        ready: Callable[[], bool],
        ready_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_path
        self.ready = ready
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        """Start the process (appending to its log) and wait until it is ready."""
        with self.log_path.open("ab") as log:
            log.write(f"---- {self.name}: {' '.join(self.args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal goes to pytest only
            )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceFailed(
                    f"the {self.name} exited with status {self.proc.returncode} during start-up"
                    f"\n{self.log_tail()}"
                )
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise ServiceFailed(
            f"the {self.name} was not ready within {self.ready_timeout:.0f}s\n{self.log_tail()}"
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop our process by its pid: ``sig`` first, SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the log, headed by its path."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"({self.name} log {self.log_path} is missing)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"[{self.name} log: {self.log_path}]\n{tail}"


def http_ok(url: str) -> Callable[[], bool]:
    """Readiness check: ``GET url`` answers 200."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    return check


def arq_worker_ready(redis_url: str, job_queue: str) -> Callable[[], bool]:
    """Readiness check: the arq worker wrote its health-check key for our queue.

    arq records it on its first poll of the queue, so the worker is connected
    and consuming by then.
    """

    def check() -> bool:
        try:
            with redis.Redis.from_url(redis_url, socket_timeout=1) as client:
                return bool(client.exists(f"{job_queue}:health-check"))
        except redis.RedisError:
            return False

    return check


def web_service(base_env: dict[str, str], port: int, log_path: Path) -> Service:
    """``python -m sandbox.web`` on 127.0.0.1:``port``."""
    env = {**base_env, "SANDBOX_HOST": "127.0.0.1", "SANDBOX_PORT": str(port)}
    return Service(
        "web app",
        ["-m", "sandbox.web"],
        env,
        log_path,
        ready=http_ok(f"http://127.0.0.1:{port}/"),
    )


def worker_service(base_env: dict[str, str], log_path: Path) -> Service:
    """``python -m worker`` on the queue named in ``base_env``."""
    return Service(
        "worker",
        ["-m", "worker"],
        base_env,
        log_path,
        ready=arq_worker_ready(base_env["REDIS_URL"], base_env["SANDBOX_JOB_QUEUE"]),
    )


def consecutive_free_ports(count: int) -> int:
    """A free port P such that P+1 ... P+count-1 are free too (``--web-processes``)."""
    for _ in range(50):
        first = free_port()
        with contextlib.ExitStack() as probes:
            try:
                for port in range(first + 1, first + count):
                    probe = probes.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise AssertionError(f"no {count} consecutive free ports found")


def scaled_sandbox_service(
    base_env: dict[str, str], first_port: int, web_processes: int, log_path: Path
) -> Service:
    """``python -m sandbox --web-processes N``: N web apps and one worker, one supervisor.

    Ready when every web port answers and the worker polls its queue. Stopping
    it (SIGTERM) makes the supervisor stop its children, as Ctrl-C would.
    """
    ports = [first_port + i for i in range(web_processes)]
    checks = [http_ok(f"http://127.0.0.1:{port}/") for port in ports]
    checks.append(arq_worker_ready(base_env["REDIS_URL"], base_env["SANDBOX_JOB_QUEUE"]))
    return Service(
        f"sandbox ({web_processes} web processes)",
        [
            "-m",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(first_port),
            "--web-processes",
            str(web_processes),
        ],
        base_env,
        log_path,
        ready=lambda: all(check() for check in checks),
        ready_timeout=60.0,
    )


def run_script(args: list[str], env: dict[str, str], timeout: float = 30.0) -> str:
    """Run a sandbox script to completion (an external sender); return its output."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout
