"""The sentinel_cluster fixture itself: discovery done, failover promotes the replica."""

from __future__ import annotations

import pytest
import redis

from .conftest import SentinelCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_cluster_fails_over_to_the_replica(sentinel_cluster: SentinelCluster) -> None:
    assert sentinel_cluster.master_address() == ("127.0.0.1", sentinel_cluster.master.port)
    sentinel_cluster.master.kill()
    waited = sentinel_cluster.wait_for_promotion()
    print(f"sentinel promotion took {waited:.2f}s")
    with redis.Redis(port=sentinel_cluster.replica.port) as client:
        assert client.set("written-after-failover", "1")
