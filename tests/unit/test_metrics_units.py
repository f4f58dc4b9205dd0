"""The histogram, the rate-limited event log and the on/off switch of fast_channels.metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fast_channels.layers import InMemoryChannelLayer
from fast_channels.metrics import BOUNDS_US, Histogram, RateLimitedLog, set_enabled
from fast_channels.metrics.switch import is_enabled


@pytest.fixture
def metrics_off() -> Iterator[None]:
    before = is_enabled()
    set_enabled(False)
    yield
    set_enabled(before)


def test_histogram_buckets_are_cumulative_with_an_inf_bucket() -> None:
    hist = Histogram((100, 1000))
    for us in (50, 100, 101, 999, 1000, 5000):
        hist.observe(us)
    snap = hist.snapshot()
    # <= 100 us: 50 and 100; <= 1 ms adds 101, 999, 1000; +Inf adds 5000.
    assert snap.buckets == ((0.0001, 2), (0.001, 5), (float("inf"), 6))
    assert snap.count == 6
    assert snap.sum == pytest.approx((50 + 100 + 101 + 999 + 1000 + 5000) / 1e6)


def test_histogram_default_bounds_ascend_and_refuse_bad_ones() -> None:
    assert list(BOUNDS_US) == sorted(BOUNDS_US)
    assert Histogram().snapshot().count == 0
    with pytest.raises(ValueError, match="ascending"):
        Histogram((10, 5))
    with pytest.raises(ValueError, match="positive"):
        Histogram((0, 5))


def test_rate_limited_log_holds_back_repeats_and_reports_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    log = RateLimitedLog(interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="fast_channels.events"):
        fields = {"alias": "a", "shard": "s"}
        assert log.emit("dropped", lambda n, f: f"dropped {n}", count=2, fields=lambda: fields)
        now[0] += 5
        assert not log.emit("dropped", lambda n, f: f"dropped {n}", count=3)
        assert not log.emit("dropped", lambda n, f: f"dropped {n}", count=4)
        assert log.emit("reconnected", lambda n, f: "back")  # another kind is not held back
        now[0] += 5
        assert log.emit("dropped", lambda n, f: f"dropped {n}", count=1)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "dropped 2",
        "back",
        "dropped 8 (2 earlier in the last 10s, not logged separately)",
    ]
    first = caplog.records[0]
    assert (first.event, first.alias, first.shard, first.count) == ("dropped", "a", "s", 2)  # type: ignore[attr-defined]


async def test_switched_off_a_layer_counts_nothing(metrics_off: None) -> None:
    layer = InMemoryChannelLayer()
    await layer.send("c", {"type": "m"})
    assert await layer.receive("c") == {"type": "m"}
    stats = layer.stats()
    assert not stats.enabled
    assert stats.messages_sent == stats.messages_received == 0
    assert stats.buffers == 1  # gauges are read from the layer's state, even when off
