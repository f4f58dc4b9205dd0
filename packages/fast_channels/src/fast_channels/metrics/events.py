"""Structured, rate-limited log events: what a team wants to hear during an outage.

An outage makes the same thing happen many times a second (a reader retries,
every ``group_send`` skips the same full channels). Each event kind is logged
at most once per :data:`INTERVAL` seconds per layer; the next record that gets
through says how many were held back in between, and its ``count`` includes
theirs. Every record carries ``extra`` fields for structured log handlers:
``event`` (the kind), ``alias``, ``layer``, ``shard`` and ``count``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

#: The logger of reconnect and heal events (``fast_channels.events``).
logger = logging.getLogger("fast_channels.events")

#: Seconds between two records of the same event kind of one layer.
INTERVAL = 10.0


class RateLimitedLog:
    """At most one record per event kind per ``interval``; counts what it held back."""

    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        #: Per kind: events held back since the last record, and their summed counts.
        self._held: dict[str, tuple[int, int]] = {}

    def admit(self, kind: str, count: int = 1) -> tuple[int, int] | None:
        """None to hold this event back; else (events held back before it, total count)."""
        now = self._clock()
        if now < self._next.get(kind, 0.0):
            events, total = self._held.get(kind, (0, 0))
            self._held[kind] = (events + 1, total + count)
            return None
        self._next[kind] = now + self.interval
        events, total = self._held.pop(kind, (0, 0))
        return events, total + count

    def emit(
        self,
        kind: str,
        text: Callable[[int, Mapping[str, str]], str],
        *,
        count: int = 1,
        level: int = logging.WARNING,
        log: logging.Logger = logger,
        fields: Callable[[], Mapping[str, str]] = dict,
    ) -> bool:
        """Log ``text(total count, fields)`` as event ``kind`` unless held back.

        ``fields()`` (alias, layer, shard) go to the record's ``extra``; both are
        only called for a record that is written. Returns whether it was.
        """
        admitted = self.admit(kind, count)
        if admitted is None:
            return False
        held, total = admitted
        extra = dict(fields())
        message = text(total, extra)
        if held:
            message += f" ({held} earlier in the last {self.interval:g}s, not logged separately)"
        log.log(level, "%s", message, extra={**extra, "event": kind, "count": total})
        return True
