"""The compose cluster profile's one-shot, run for real against six local cluster nodes.

Docker cannot run here, so the test starts the six nodes itself with the
``redis-server`` arguments the compose file gives them, each on port 6379 of
its own loopback address (127.0.0.2 to 127.0.0.7), and runs the
``redis-cluster-init`` script as Compose would. Only name resolution is stood
in for: ``getent`` and ``redis-cli`` shims on PATH map ``redis-node-N`` to its
address, as Docker's DNS would.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.redis_process import RedisBinaryNotFound, find_redis_server

from .test_compose import CLUSTER_NODES, compose_config

pytestmark = pytest.mark.slow

ADDRESSES = {node: f"127.0.0.{n}" for n, node in enumerate(CLUSTER_NODES, start=2)}


def redis_cli() -> str:
    found = shutil.which("redis-cli")
    if found is None:
        pytest.skip("redis-cli is not installed")
    return found


def loopback_6379_free() -> bool:
    for address in ADDRESSES.values():
        for port in (6379, 16379):  # the client port and the cluster bus
            with socket.socket() as probe:
                # As redis-server binds: a previous run's TIME_WAIT sockets don't count.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((address, port))
                except OSError:
                    return False
    return True


@pytest.fixture
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    data: dict[str, Any] = yaml.safe_load(compose_config("cluster"))
    return data


@pytest.fixture
def shims(tmp_path: Path) -> Path:
    """``getent hosts NAME`` and ``redis-cli -h NAME`` for the compose service names."""
    directory = tmp_path / "bin"
    directory.mkdir()
    cases = "\n".join(f"  {node}) echo '{ip}   {node}' ;;" for node, ip in ADDRESSES.items())
    rewrite = " ".join(f"-e 's/{node}/{ip}/g'" for node, ip in ADDRESSES.items())
    scripts = {
        "getent": f'#!/bin/sh\n[ "$1" = hosts ] || exit 2\ncase "$2" in\n{cases}\n'
        "  *) exit 2 ;;\nesac\n",
        "redis-cli": "#!/bin/sh\n"
        f'set -- $(printf "%s\\n" "$@" | sed {rewrite})\nexec {redis_cli()} "$@"\n',
    }
    for name, text in scripts.items():
        path = directory / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return directory


@pytest.fixture
def cluster_nodes(compose: dict[str, Any], tmp_path: Path) -> Iterator[None]:
    """The six nodes, started with the compose file's own ``redis-server`` arguments."""
    try:
        binary = find_redis_server()
    except RedisBinaryNotFound as exc:
        pytest.skip(str(exc))
    if not loopback_6379_free():
        pytest.skip("port 6379 on 127.0.0.2-7 is taken (or those addresses don't exist)")
    procs = []
    try:
        for node, address in ADDRESSES.items():
            command = compose["services"][node]["command"]
            assert command[0] == "redis-server", command
            workdir = tmp_path / node
            workdir.mkdir()
            procs.append(
                subprocess.Popen(
                    [binary, *command[1:], "--bind", address, "--dir", str(workdir)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for address in ADDRESSES.values():
            wait_for(lambda a=address: ping(a), "a cluster node to answer PING")
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=10)


def ping(address: str) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, 6379), 0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


def wait_for(check: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def run_init(compose: dict[str, Any], shims: Path) -> subprocess.CompletedProcess[str]:
    script = compose["services"]["redis-cluster-init"]["command"][2].replace("$$", "$")
    return subprocess.run(
        ["sh", "-c", script],
        env={"PATH": f"{shims}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def cluster_info(address: str) -> dict[str, str]:
    out = subprocess.run(
        [redis_cli(), "-h", address, "-p", "6379", "cluster", "info"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    return dict(line.strip().split(":", 1) for line in out.splitlines() if ":" in line)


def test_cluster_init_creates_three_masters_with_a_replica_each_then_is_a_no_op(
    compose: dict[str, Any], shims: Path, cluster_nodes: None
) -> None:
    first = run_init(compose, shims)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "All 16384 slots covered" in first.stdout, first.stdout
    for address in ADDRESSES.values():
        # Every node learns the others and their slots by gossip: allow it a moment on a
        # busy machine (a node can report "ok" while it still knows only 4 of the 6).
        deadline = time.monotonic() + 20
        settled = {"cluster_state": "ok", "cluster_known_nodes": "6"}
        while settled.items() - (info := cluster_info(address)).items():
            assert time.monotonic() < deadline, (address, info)
            time.sleep(0.1)
        assert info["cluster_size"] == "3"  # masters serving slots

    # `docker compose up` again: the cluster exists, the one-shot succeeds doing nothing.
    again = run_init(compose, shims)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip() == "cluster already created"
