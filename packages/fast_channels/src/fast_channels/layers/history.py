"""Resumable groups: a bounded history per group, and positions to resume from.

A layer built with ``group_history={glob: (size, seconds)}`` keeps, for each
group whose name matches, the last ``size`` messages for at most ``seconds``.
Every message sent to such a group gets a :class:`Position`: an ``offset`` that
grows by one per message in the group, and an ``epoch`` that changes whenever
the history itself was lost (Redis wiped, a failover to a replica that missed
writes, ``flush()``). Members receive it in the message under the reserved key
:data:`POSITION_KEY`, as ``{"group": ..., "epoch": ..., "offset": ...}``.

A client that comes back says where it was; :meth:`HistoryLayer.group_history`
returns everything after that position, or raises
:class:`~fast_channels.exceptions.HistoryUnrecoverable`. The consumer side (join,
replay, then live with nothing twice) is ``AsyncConsumer.group_resume``.
"""

from __future__ import annotations

import abc
import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import HistoryUnrecoverable, InvalidPosition
from .capacity import Pattern

#: The reserved message key that carries a message's position in its group.
POSITION_KEY = "__position__"
#: Upper bound of a group's history size: history is read back whole on recovery.
MAX_HISTORY_SIZE = 10_000
_POSITION_RE = re.compile(r"^([0-9a-f]{1,32}):(\d{1,18})$")


@dataclass(frozen=True, order=True)
class Position:
    """Where a message sits in its group's history; ``str()`` is ``"<epoch>:<offset>"``.

    The string form is what a client keeps (an SSE ``id``, a query parameter) and
    sends back; :meth:`parse` reads it and rejects anything else.
    """

    epoch: str
    offset: int

    def __str__(self) -> str:
        return f"{self.epoch}:{self.offset}"

    @classmethod
    def parse(cls, value: Position | str) -> Position:
        """A position from its string form; raise :class:`InvalidPosition` if malformed."""
        if isinstance(value, Position):
            return value
        match = _POSITION_RE.match(value) if isinstance(value, str) else None
        if match is None:
            raise InvalidPosition(
                f"{value!r} is not a history position: expected '<epoch>:<offset>' as "
                "sent with a message (for example 'a1b2c3d4:17')."
            )
        return cls(match.group(1), int(match.group(2)))

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> tuple[str, Position] | None:
        """``(group, position)`` of a message sent to a resumable group, else ``None``."""
        stamp = message.get(POSITION_KEY)
        if not isinstance(stamp, dict):
            return None
        return str(stamp["group"]), cls(str(stamp["epoch"]), int(stamp["offset"]))


def stamp(group: str, epoch: str, offset: int) -> dict[str, Any]:
    """The value of :data:`POSITION_KEY` in a message."""
    return {"group": group, "epoch": epoch, "offset": offset}


@dataclass(frozen=True)
class HistoryLimits:
    """How much history a group keeps: ``size`` messages, none older than ``seconds``."""

    size: int
    seconds: float

    @property
    def ms(self) -> int:
        return int(self.seconds * 1000)


class HistoryPolicy:
    """Which groups keep history, from ``{glob or compiled regex: (size, seconds)}``.

    The first matching pattern wins, as in ``channel_capacity``.
    """

    def __init__(self, patterns: Mapping[Pattern, tuple[int, float]] | None) -> None:
        self._patterns: list[tuple[re.Pattern[str], HistoryLimits]] = []
        for pattern, limits in (patterns or {}).items():
            self._patterns.append((_compile(pattern), _limits(pattern, limits)))
        self._cache: dict[str, HistoryLimits | None] = {}

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def __call__(self, group: str) -> HistoryLimits | None:
        """The limits of ``group``, or ``None`` when it keeps no history."""
        try:
            return self._cache[group]
        except KeyError:
            pass
        found = next((lim for rx, lim in self._patterns if rx.match(group)), None)
        if len(self._cache) > 10_000:  # bounded: group names may churn (a room per chat)
            self._cache.clear()
        self._cache[group] = found
        return found


def _compile(pattern: Pattern) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    if isinstance(pattern, str):
        return re.compile(fnmatch.translate(pattern))
    raise TypeError(
        f"group_history keys must be glob strings or compiled regexes, got {type(pattern).__name__}"
    )


def _limits(pattern: Pattern, limits: object) -> HistoryLimits:
    size: object = None
    seconds: object = None
    if isinstance(limits, tuple | list) and len(limits) == 2:
        size, seconds = limits
    if (
        isinstance(size, int)
        and not isinstance(size, bool)
        and 1 <= size <= MAX_HISTORY_SIZE
        and isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and seconds > 0
    ):
        return HistoryLimits(size, float(seconds))
    raise ValueError(
        f"group_history[{pattern!r}] must be (size, seconds) with 1 <= size <= "
        f"{MAX_HISTORY_SIZE} and seconds > 0, got {limits!r}"
    )


@dataclass
class GroupHistory:
    """What :meth:`HistoryLayer.group_history` returns.

    ``messages`` are in order, each with its :data:`POSITION_KEY`; ``position``
    is the group's newest position (``None`` while the group has no history).
    """

    messages: list[dict[str, Any]] = field(default_factory=list)
    position: Position | None = None


def check_recoverable(
    group: str, since: Position, epoch: str | None, top: int, first: int | None
) -> None:
    """Raise :class:`HistoryUnrecoverable` unless every message after ``since`` is kept.

    ``epoch``/``top`` describe the group now, ``first`` is the oldest offset kept
    after ``since`` (``None`` when none is).
    """
    current = Position(epoch, top) if epoch is not None else None
    if epoch is None or epoch != since.epoch:
        raise HistoryUnrecoverable(group, "epoch", current)
    if since.offset > top:
        raise HistoryUnrecoverable(group, "ahead", current)
    if since.offset < top and first != since.offset + 1:
        raise HistoryUnrecoverable(group, "too_old", current)


class HistoryLayer(abc.ABC):
    """The history capability every built-in layer implements.

    Layers take ``group_history={glob: (size, seconds)}``; ``group_send`` to a
    matching group stores the message and stamps its position in one step.
    """

    #: Set by the layer's constructor from its ``group_history`` argument.
    history_policy: HistoryPolicy

    def keeps_history(self, group: str) -> bool:
        """True when messages sent to ``group`` are kept and carry a position."""
        return self.history_policy(group) is not None

    @abc.abstractmethod
    async def group_history(self, group: str, since: Position | str | None = None) -> GroupHistory:
        """The messages of ``group`` after ``since`` (all that are kept when ``None``).

        Raises :class:`~fast_channels.exceptions.HistoryUnrecoverable` when some
        message after ``since`` is gone, :class:`~fast_channels.exceptions.InvalidPosition`
        for a malformed ``since``, and ``ValueError`` for a group without history.
        """


def require_history(policy: HistoryPolicy, group: str) -> HistoryLimits:
    """The limits of ``group``; a clear ``ValueError`` if it keeps no history."""
    limits = policy(group)
    if limits is None:
        raise ValueError(
            f"group {group!r} keeps no history: add a pattern that matches it to the "
            "layer's group_history, e.g. group_history={'room-*': (100, 300)}."
        )
    return limits


def positioned(
    group: str, epoch: str, rows: Sequence[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Decoded history rows ``(offset, message)`` with their positions stamped in."""
    return [{**message, POSITION_KEY: stamp(group, epoch, offset)} for offset, message in rows]
