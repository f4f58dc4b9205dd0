"""Run the web app and the worker as child processes, and stop them together.

Children get their own session (process group), so a Ctrl-C in the terminal
reaches only the supervisor, which then stops each child politely (SIGTERM,
then SIGKILL after a grace period) and waits for it. Nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0


class StartupError(RuntimeError):
    """Something the user can fix prevented start-up; the message says what."""


def check_port_free(host: str, port: int) -> None:
    """Raise ``StartupError`` when ``host:port`` cannot be bound."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise StartupError(
                f"port {port} on {host} is not available ({exc.strerror}); "
                f"stop what uses it or pick another: --port {port + 1}"
            ) from None


def wait_for_http(host: str, port: int, children: list[Child], timeout: float = 20.0) -> None:
    """Wait until the web app accepts connections; fail early if a child dies."""
    deadline = time.monotonic() + timeout
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    while time.monotonic() < deadline:
        for child in children:
            if child.proc.poll() is not None:
                raise StartupError(
                    f"the {child.name} exited during start-up (see its output above)"
                )
        try:
            with socket.create_connection((connect_host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StartupError(f"the web app did not answer on port {port} within {timeout:.0f}s")


@dataclass
class Child:
    """One supervised process."""

    name: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _signal_group(pid: int, sig: int) -> None:
    # start_new_session=True made the child the leader of its own group: this
    # reaches what it started too (uvicorn's reloader, arq's subprocesses).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


@dataclass
class Supervisor:
    """Starts children, watches them, and stops all of them on a signal or a death."""

    env: Mapping[str, str]
    children: list[Child] = field(default_factory=list)
    _stop_requested: bool = False

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        """Start ``python args...`` with the shared environment, plus ``env`` for this child."""
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            start_new_session=True,
        )
        child = Child(name, proc)
        self.children.append(child)
        return child

    def request_stop(self, signum: int, frame: object) -> None:
        self._stop_requested = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)

    def watch(self) -> str | None:
        """Block until a stop is requested (None) or a child exits (its name)."""
        while not self._stop_requested:
            for child in self.children:
                if child.proc.poll() is not None:
                    return child.name
            time.sleep(0.2)
        return None

    def stop_all(self) -> None:
        for child in reversed(self.children):
            child.stop()
