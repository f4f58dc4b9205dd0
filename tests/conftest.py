"""Shared fixtures: a private Redis for the whole session, and clean layer registries."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fast_channels.layers import registry

from sandbox.redis_process import RedisProcess


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
