"""The queue layer's push of one message to many member channels on several shards.

A group's members may live anywhere: named channels hash to any shard (or
cluster slot), the process-local channels of one process share one inbox.
Round trips stay bounded by the number of shards, never by the group size.
Every key a script touches is passed in ``KEYS`` (as a Redis Cluster requires,
and ACL key patterns expect), so members are grouped by (shard, slot) and one
``push_slot`` script runs per group, all the scripts for one shard going out in
one write (:meth:`~.scripts.Script.batch`): one round trip per shard. With
several ``hosts`` a shard is one "slot"; on a Redis Cluster a script may only
touch keys of one slot, so there is one script per slot. Process-local members
of one process share their inbox (and so its slot), so a group of WebSocket
consumers costs a script per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from .._transport.resp import Arg, Packed, bulk
from .._transport.seam import Connections
from .scripts import PUSH_SLOT, queue_keys


async def push_to_members(
    conns: Connections,
    prefix: str,
    members: Sequence[bytes],
    capacity: Callable[[str], int],
    uniform: int | None,
    head: tuple[int, int, bytes],
) -> int:
    """Push to every member; ``head`` is (ttl ms, deadline ms, payload).

    ``uniform`` is every member's capacity when no ``channel_capacity`` pattern
    applies (so none is looked up per member). Returns how many were full.
    """
    return await _push_by_slot(conns, prefix, members, capacity, uniform, head)


class _Slot:
    """One slot's share of a cluster fan-out: its keys (each once) and its members."""

    __slots__ = ("count", "keys", "members")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.members: list[bytes] = []
        self.count = 0  # members so far


async def _push_by_slot(
    conns: Connections,
    prefix: str,
    members: Sequence[bytes],
    capacity: Callable[[str], int],
    uniform: int | None,
    head: tuple[int, int, bytes],
) -> int:
    slots: dict[tuple[int, int], _Slot] = {}
    # Per inbox (or named channel): its slot, and its key indices packed once.
    queues: dict[bytes, tuple[_Slot, bytes]] = {}
    same_capacity = bulk(b"%d" % uniform) if uniform is not None else None
    for member in members:
        bang = member.find(b"!")
        queue = member[: bang + 1] if bang >= 0 else member
        found = queues.get(queue)
        if found is None:
            list_key, count_key = queue_keys(prefix, member.decode(), conns.clustered)
            slot = slots.setdefault(conns.route(list_key), _Slot())
            slot.keys.append(list_key)
            indices = bulk(b"%d" % len(slot.keys))
            if count_key:
                slot.keys.append(count_key)
            indices += bulk(b"%d" % len(slot.keys) if count_key else b"0")
            found = queues[queue] = (slot, indices)
        slot, indices = found
        cap = same_capacity or bulk(b"%d" % capacity(member.decode()))
        slot.members.append(b"%b%b%b" % (bulk(member), cap, indices))
        slot.count += 1
    by_node: dict[int, list[tuple[list[str], list[Arg]]]] = {}
    for (index, _), slot in slots.items():
        args: list[Arg] = [*head, Packed(b"".join(slot.members), 4 * slot.count)]
        by_node.setdefault(index, []).append((slot.keys, args))
    replies = await asyncio.gather(
        *(PUSH_SLOT.batch(conns.pipe(index), calls) for index, calls in by_node.items())
    )
    skipped = 0
    failed: BaseException | None = None
    for reply in (r for node in replies for r in node):
        if isinstance(reply, BaseException):
            failed = failed or reply  # the other slots got it: report the first failure
        else:
            skipped += int(reply)
    if failed is not None:
        raise failed
    return skipped
