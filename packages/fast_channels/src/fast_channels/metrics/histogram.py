"""A latency histogram cheap enough for every Redis round trip.

Fixed bucket bounds in microseconds, a list of int counts and an int sum:
``observe()`` is one ``bisect`` and two integer additions, with no lock. It
runs on the event loop thread that owns the pipe; a scrape from another thread
reads the ints as they are (each read is atomic under the GIL), so a snapshot
may be one observation behind, never corrupt.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

#: Upper bounds of the buckets, in microseconds (100 us to 10 s), ascending.
BOUNDS_US: tuple[int, ...] = (
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
)


@dataclass(frozen=True)
class HistogramSnapshot:
    """Counts per bucket, Prometheus style: cumulative, in seconds."""

    #: ``(upper bound in seconds, observations <= bound)``, ascending; the last is ``inf``.
    buckets: tuple[tuple[float, int], ...]
    #: Number of observations.
    count: int
    #: Sum of all observations, in seconds.
    sum: float


class Histogram:
    """Counts of observed durations per fixed bucket (see the module docs)."""

    __slots__ = ("bounds", "counts", "total_us")

    def __init__(self, bounds: tuple[int, ...] = BOUNDS_US) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds or bounds[0] <= 0:
            raise ValueError(f"histogram bounds must be positive and ascending, got {bounds!r}")
        self.bounds = bounds
        #: One count per bound, plus one for everything above the last bound.
        self.counts = [0] * (len(bounds) + 1)
        self.total_us = 0

    def observe(self, us: int) -> None:
        """Record one duration of ``us`` microseconds."""
        self.counts[bisect_left(self.bounds, us)] += 1
        self.total_us += us

    def snapshot(self) -> HistogramSnapshot:
        """Cumulative counts (a bucket holds every observation <= its bound)."""
        counts = list(self.counts)  # one copy, then consistent with itself
        cumulative, running = [], 0
        for bound, count in zip((*self.bounds, None), counts, strict=True):
            running += count
            cumulative.append((float("inf") if bound is None else bound / 1e6, running))
        return HistogramSnapshot(tuple(cumulative), running, self.total_us / 1e6)
