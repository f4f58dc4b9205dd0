"""Redis Cluster hash slots: which slot a key is in, and which node serves a slot.

A key's slot is CRC16 (XMODEM, what ``binascii.crc_hqx`` computes) of the key,
or of its hash tag (the part between the first ``{`` and the next ``}``, when
not empty), modulo 16384. Keys with the same tag share a slot, which is what
lets a Lua script or a multi-key command touch several of them in a cluster.

:class:`SlotTable` maps each slot to a node index of the owning
:class:`~.cluster.ClusterConnections`; it is read from ``CLUSTER SLOTS`` and
corrected by ``MOVED`` replies. :func:`redirection` reads a ``MOVED``/``ASK``
reply.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

SLOTS = 16384
#: A slot no node is known to serve yet: calls go to a seed, whose MOVED corrects it.
UNKNOWN = -1

_REDIRECT = re.compile(r"(?:(MOVED|ASK) )?(\d+) (\S+):(\d+)\s*$")


@lru_cache(maxsize=65536)  # channel and group names repeat; the hash is cheap either way
def key_slot(key: str | bytes) -> int:
    """The cluster slot of ``key`` (hash tags honoured, as Redis does)."""
    data = key.encode() if isinstance(key, str) else key
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1 : end]
    return binascii.crc_hqx(data, 0) % SLOTS


def tag(name: str) -> str:
    """``name`` as a hash tag: every key built around it lands in ``name``'s slot."""
    return f"{{{name}}}"


class Redirection(NamedTuple):
    """A ``MOVED`` or ``ASK`` reply: the slot and the node to try instead."""

    ask: bool
    slot: int
    host: str
    port: int


def redirection(code: str, text: str) -> Redirection | None:
    """The redirection in an error reply with ``code`` ``MOVED``/``ASK``, else None.

    redis-py keeps the code in the text of a plain ``ResponseError`` and strips
    it for its cluster classes (``MovedError``): both shapes are read.
    """
    if code not in ("MOVED", "ASK"):
        return None
    match = _REDIRECT.search(text)
    if match is None:
        return None
    return Redirection(code == "ASK", int(match[2]), match[3], int(match[4]))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SlotTable:
    """Slot -> node index, shared by every event loop of one layer.

    Updated by whole assignments, so a reader in another thread sees either
    the old or the new owner of a slot, both of which answer (or redirect).
    """

    def __init__(self) -> None:
        self.owners: list[int] = [UNKNOWN] * SLOTS
        self.loaded = False

    def owner(self, slot: int) -> int:
        return self.owners[slot]

    def moved(self, slot: int, index: int) -> None:
        self.owners[slot] = index

    def load(
        self, reply: Sequence[Any], asked: tuple[str, int], node: Callable[[str, int], int]
    ) -> set[int]:
        """Read a ``CLUSTER SLOTS`` reply; ``node(host, port)`` gives a node's index.

        ``asked`` is the node that answered: a master listed without a host
        (an empty or ``?`` endpoint) is that node. Returns the masters' indices.
        """
        owners = [UNKNOWN] * SLOTS
        masters: set[int] = set()
        for row in reply:
            start, end, master = int(row[0]), int(row[1]), row[2]
            host = _text(master[0])
            if host in ("", "?"):
                host = asked[0]
            index = node(host, int(master[1]))
            masters.add(index)
            owners[start : end + 1] = [index] * (end - start + 1)
        self.owners = owners
        self.loaded = True
        return masters
