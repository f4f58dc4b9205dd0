"""Fixtures for tests against real Redis servers: a Sentinel cluster and helpers.

``sentinel_cluster`` starts a master, one replica and three sentinels on free
ports (fresh per test, because tests kill the master). Use its ``sentinels``
and ``service_name`` to build a layer, ``master.kill()`` to fail it over and
``wait_for_promotion()`` to learn when Sentinel has promoted the replica.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.redis import RedisChannelLayer

from sandbox.redis_process import RedisProcess, free_port

SERVICE_NAME = "mymaster"


def sentinel_client(port: int) -> redis.Redis:
    """A client for one sentinel, for raw ``SENTINEL`` commands on any redis-py 5 to 8.

    Raw commands over RESP2, because redis-py's own ``sentinel_*`` parsers
    break on some versions (6.4: a ``TypeError`` on their keyword arguments).
    """
    return redis.Redis(port=port, socket_timeout=1, decode_responses=True, protocol=2)


def sentinel_conf(port: int, master_port: int) -> str:
    """A sentinel config that notices a dead master after one second (see RECIPES.md)."""
    return "\n".join(
        [
            f"port {port}",
            "bind 127.0.0.1",
            "sentinel resolve-hostnames no",
            f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {master_port} 2",
            f"sentinel down-after-milliseconds {SERVICE_NAME} 1000",
            f"sentinel failover-timeout {SERVICE_NAME} 3000",
            f"sentinel parallel-syncs {SERVICE_NAME} 1",
            "",
        ]
    )


@dataclass
class SentinelCluster:
    """A running master + replica watched by three sentinels."""

    master: RedisProcess
    replica: RedisProcess
    sentinel_processes: list[RedisProcess]
    service_name: str = SERVICE_NAME

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """Sentinel addresses, in the shape ``RedisChannelLayer(sentinels=...)`` takes."""
        return [("127.0.0.1", s.port) for s in self.sentinel_processes]

    def master_address(self) -> tuple[str, int] | None:
        """The master address the first answering sentinel reports (None if none answers)."""
        for port in (s.port for s in self.sentinel_processes):
            try:
                with sentinel_client(port) as client:
                    addr = client.execute_command(
                        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name
                    )
            except redis.RedisError:
                continue
            if addr:
                return str(addr[0]), int(addr[1])
        return None

    def wait_until_ready(self, timeout: float = 20.0) -> None:
        """Block until every sentinel sees the replica and the two other sentinels."""
        deadline = time.monotonic() + timeout
        while True:
            states = [self._sentinel_view(s.port) for s in self.sentinel_processes]
            if self._replica_synced() and all(
                st is not None and st[0] >= 1 and st[1] == len(self.sentinel_processes) - 1
                for st in states
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"sentinel discovery incomplete after {timeout}s: {states}")
            time.sleep(0.1)

    def _replica_synced(self) -> bool:
        # Sentinels count a replica that is still loading its first copy of the
        # data; one killed master later, that replica would be promoted empty.
        try:
            with redis.Redis(port=self.replica.port, socket_timeout=1) as client:
                info = client.info("replication")
        except redis.RedisError:
            return False
        return info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")

    def _sentinel_view(self, port: int) -> tuple[int, int] | None:
        try:
            with sentinel_client(port) as client:
                flat = client.execute_command("SENTINEL", "MASTER", self.service_name)
        except redis.RedisError:
            return None
        info = dict(zip(flat[::2], flat[1::2], strict=True))
        return int(info["num-slaves"]), int(info["num-other-sentinels"])

    def wait_for_promotion(self, timeout: float = 20.0) -> float:
        """Block until sentinels report the replica as master and it accepts writes.

        Returns the seconds waited. Call it after ``master.kill()``.
        """
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            addr = self.master_address()
            if addr is not None and addr[1] == self.replica.port:
                try:
                    with redis.Redis(port=self.replica.port, socket_timeout=1) as client:
                        if client.info("replication")["role"] == "master":
                            return time.monotonic() - start
                except redis.RedisError:
                    pass
            time.sleep(0.05)
        raise TimeoutError(f"replica on port {self.replica.port} not promoted in {timeout}s")


@pytest.fixture
def sentinel_cluster() -> Iterator[SentinelCluster]:
    """Master, replica and three sentinels, discovered and ready; torn down after the test."""
    started: list[RedisProcess] = []
    try:
        master = RedisProcess().start()
        started.append(master)
        replica = RedisProcess(extra_args=["--replicaof", "127.0.0.1", str(master.port)]).start()
        started.append(replica)
        sentinels = []
        for _ in range(3):
            port = free_port()
            proc = RedisProcess(port, sentinel_conf=sentinel_conf(port, master.port)).start()
            started.append(proc)
            sentinels.append(proc)
        cluster = SentinelCluster(master, replica, sentinels)
        cluster.wait_until_ready()
        yield cluster
    finally:
        for proc in reversed(started):
            proc.__exit__(None, None, None)


QueueLayerFactory = Callable[..., RedisChannelLayer]


@pytest.fixture
async def make_queue_layer(redis_url: str) -> AsyncIterator[QueueLayerFactory]:
    """Build ``RedisChannelLayer``s on the session Redis with a prefix unique to the test.

    Keyword arguments override the defaults; every layer made is closed (and its
    keys flushed) after the test.
    """
    prefix = f"t{uuid.uuid4().hex[:10]}"
    made: list[RedisChannelLayer] = []

    def make(**kwargs: Any) -> RedisChannelLayer:
        kwargs.setdefault("hosts", [redis_url])
        kwargs.setdefault("prefix", prefix)
        layer = RedisChannelLayer(**kwargs)
        made.append(layer)
        return layer

    yield make
    for layer in made:
        with contextlib.suppress(ChannelLayerConnectionError):
            await layer.flush()
        await layer.close()
