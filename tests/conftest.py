"""Shared fixtures: a private Redis for the whole session, and clean layer registries."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fast_channels.layers import registry

from sandbox.redis_process import RedisProcess

if TYPE_CHECKING:  # imported where used: it needs redis-py, which unit tests do not
    from tests.integration.redis.cluster_fixture import RedisCluster


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a Redis the tests may flush: ``REDIS_URL`` if set, else a private server.

    Tests that need to kill and restart Redis use ``redis_server`` instead.
    """
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    with RedisProcess() as server:
        yield server.url


@pytest.fixture(scope="session")
def _session_cluster() -> Iterator[RedisCluster]:
    from tests.integration.redis.cluster_fixture import started_cluster

    with started_cluster() as cluster:
        yield cluster


@pytest.fixture
def redis_cluster(_session_cluster: RedisCluster) -> RedisCluster:
    """The session's Redis Cluster (3 masters, 3 replicas), emptied before each test.

    For tests that leave its topology alone; tests that kill nodes, fail over
    or reshard use ``fresh_redis_cluster``.
    """
    _session_cluster.flush()
    return _session_cluster


@pytest.fixture
def fresh_redis_cluster() -> Iterator[RedisCluster]:
    """A Redis Cluster of its own for a test that breaks it; stopped afterwards."""
    from tests.integration.redis.cluster_fixture import started_cluster

    with started_cluster() as cluster:
        yield cluster


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    """A private redis-server for one test, which the test may kill and restart."""
    with RedisProcess() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    """Each test starts and ends with an empty channel layer registry."""
    saved = dict(registry._layers)
    registry._layers.clear()
    yield
    registry._layers.clear()
    registry._layers.update(saved)


@pytest.fixture(autouse=True)
def _fail_on_unhandled_task_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test during which an event loop reported an unhandled exception.

    asyncio reports a background task that died ("Task exception was never
    retrieved"), a failed callback or an unretrieved future through the
    loop's exception handler, which only logs: such bugs would pass silently.
    This patches the handler of every asyncio loop (the test's own, uvicorn's
    in-process server, loops of helper threads) for the test's duration, and
    collects garbage before checking, since "never retrieved" is reported when
    the task is freed.
    """
    reported: list[dict[str, Any]] = []
    original = asyncio.BaseEventLoop.call_exception_handler

    def record(self: asyncio.BaseEventLoop, context: dict[str, Any]) -> None:
        reported.append(context)
        original(self, context)  # keep asyncio's log line: it has the traceback

    monkeypatch.setattr(asyncio.BaseEventLoop, "call_exception_handler", record)
    yield
    gc.collect()
    if reported:
        lines = [f"- {ctx.get('message')}: {ctx.get('exception')!r}" for ctx in reported]
        pytest.fail(
            "an event loop reported unhandled exceptions during this test:\n" + "\n".join(lines),
            pytrace=False,
        )
