"""Counters per WebSocket consumer class, and :func:`consumer_stats`.

Each consumer instance looks its class's :class:`ConsumerCounts` up once, when
its connection starts; every frame then costs one integer increment.
"""

from __future__ import annotations

import threading

from .snapshots import ConsumerStats
from .switch import is_enabled


class ConsumerCounts:
    """The counters of one consumer class (written by event loop threads, no lock)."""

    __slots__ = (
        "accepted",
        "close_codes",
        "denied",
        "frames_in",
        "frames_out",
        "handler_errors",
        "name",
        "open",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.open = 0
        self.accepted = 0
        self.denied = 0
        self.frames_in = 0
        self.frames_out = 0
        self.handler_errors = 0
        self.close_codes: dict[int, int] = {}

    def closed(self, code: int) -> None:
        """An accepted connection ended with ``code``."""
        self.close_codes[code] = self.close_codes.get(code, 0) + 1

    def snapshot(self) -> ConsumerStats:
        return ConsumerStats(
            consumer=self.name,
            open_connections=self.open,
            accepted=self.accepted,
            denied=self.denied,
            frames_in=self.frames_in,
            frames_out=self.frames_out,
            handler_errors=self.handler_errors,
            close_codes=dict(self.close_codes),
        )


_by_class: dict[type, ConsumerCounts] = {}
_lock = threading.Lock()  # only when a class serves its first connection


def counts_for(cls: type) -> ConsumerCounts | None:
    """The counters of consumer class ``cls``; ``None`` when metrics are off."""
    if not is_enabled():
        return None
    counts = _by_class.get(cls)
    if counts is None:
        with _lock:
            counts = _by_class.setdefault(
                cls, ConsumerCounts(f"{cls.__module__}.{cls.__qualname__}")
            )
    return counts


def consumer_stats() -> dict[str, ConsumerStats]:
    """A snapshot per consumer class that served a connection, by ``module.QualName``."""
    return {counts.name: counts.snapshot() for counts in list(_by_class.values())}


def reset_consumer_stats() -> None:
    """Forget every consumer class's counters (for tests)."""
    with _lock:
        _by_class.clear()
