"""The per-connection rate limiter and size check (no I/O: a fake clock)."""

from __future__ import annotations

from sandbox.guards import FrameGuard, TokenBucket
from sandbox.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_steady_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back at 2 per second
    assert [bucket.allow(), bucket.allow()] == [True, False]
    clock.now += 60  # refills, but never beyond the burst
    assert sum(bucket.allow() for _ in range(10)) == 3


def test_frame_guard_measures_bytes_not_characters() -> None:
    guard = FrameGuard(Settings(layers="memory", max_message_bytes=4, rate_burst=100))
    assert guard.check("abcd", None) is None
    error = guard.check("éé€", None)  # 3 characters, 7 bytes
    assert error is not None and error["code"] == "message_too_large"
    assert "7 bytes" in error["message"]
    assert guard.check(None, b"12345") is not None
