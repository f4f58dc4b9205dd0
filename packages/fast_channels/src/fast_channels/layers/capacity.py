"""Per-channel capacity lookup with glob or regex patterns."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

Pattern = str | re.Pattern[str]


class CapacityMatcher:
    """Resolve the capacity of a channel from a default and ordered patterns.

    ``channel_capacity`` maps glob strings (``"http.request*"``) or compiled
    regexes to a capacity; the first matching pattern wins. Results are cached
    per channel name because the same names are looked up on every send.
    """

    __slots__ = ("_cache", "_default", "_patterns")

    def __init__(self, default: int, patterns: Mapping[Pattern, int] | None = None) -> None:
        if not isinstance(default, int) or isinstance(default, bool) or default < 1:
            raise ValueError(f"capacity must be a positive int, got {default!r}")
        self._default = default
        self._patterns: list[tuple[re.Pattern[str], int]] = []
        for pattern, value in (patterns or {}).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"channel_capacity[{pattern!r}] must be a positive int, got {value!r}"
                )
            if isinstance(pattern, re.Pattern):
                compiled = pattern
            elif isinstance(pattern, str):
                compiled = re.compile(fnmatch.translate(pattern))
            else:
                raise TypeError(
                    "channel_capacity keys must be glob strings or compiled regexes, "
                    f"got {type(pattern).__name__}"
                )
            self._patterns.append((compiled, value))
        self._cache: dict[str, int] = {}

    @property
    def default(self) -> int:
        return self._default

    def __call__(self, channel: str) -> int:
        try:
            return self._cache[channel]
        except KeyError:
            pass
        value = self._default
        for compiled, capacity in self._patterns:
            if compiled.match(channel):
                value = capacity
                break
        if len(self._cache) > 10_000:  # bounded: channel names churn with connections
            self._cache.clear()
        self._cache[channel] = value
        return value
