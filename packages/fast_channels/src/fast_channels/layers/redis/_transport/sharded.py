"""What differs when the shared subscriber speaks Redis Cluster's sharded pub/sub.

The verbs (``SSUBSCRIBE``/``SUNSUBSCRIBE`` instead of ``SUBSCRIBE``/``UNSUBSCRIBE``),
how names are grouped into one command (one slot per ``SSUBSCRIBE``), and how a
``MOVED`` reply to one is read. :mod:`.subscriber` uses these; the pub/sub
layer's :mod:`~..pubsub.following` moves the names it gives up.
"""

from __future__ import annotations

from typing import NamedTuple

from redis.exceptions import ResponseError

from ....exceptions import ChannelLayerConnectionError
from .errors import reply_code
from .slots import key_slot, redirection


class SlotMoved(ChannelLayerConnectionError):
    """A sharded subscription's slot is served by another cluster node: subscribe there."""


class Commands(NamedTuple):
    subscribe: str
    unsubscribe: str


PLAIN = Commands("SUBSCRIBE", "UNSUBSCRIBE")
SHARDED = Commands("SSUBSCRIBE", "SUNSUBSCRIBE")


def subscribe_chunks(names: list[bytes], sharded: bool, size: int) -> list[list[bytes]]:
    """Names per (S)SUBSCRIBE: ``size`` at a time, or one slot at a time when ``sharded``."""
    if not sharded:
        return [names[i : i + size] for i in range(0, len(names), size)]
    by_slot: dict[int, list[bytes]] = {}
    for name in names:
        by_slot.setdefault(key_slot(name), []).append(name)
    return list(by_slot.values())


def moved_slot(exc: ResponseError) -> int | None:
    """The slot a ``MOVED`` reply is about (None for any other reply)."""
    moved = redirection(reply_code(exc), str(exc))
    return None if moved is None or moved.ask else moved.slot
