"""The queue layer's push of one message to many member channels on several shards.

A group's members may live anywhere: named channels hash to any shard (or
cluster slot), the process-local channels of one process share one inbox.
Round trips stay bounded by the number of shards, never by the group size:

- with several ``hosts``: one ``push_many`` script per shard (it may touch any
  key of its server), the shards concurrently;
- on a Redis Cluster a script may only touch keys of one slot, so members are
  grouped by (node, slot), one ``push_slot`` script per slot, and all the
  scripts for one node go out in one write (:meth:`~.scripts.Script.batch`):
  one round trip per node. Process-local members of one process share their
  inbox's slot, so a group of WebSocket consumers costs a script per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from .._transport.pipe import Arg
from .._transport.seam import Connections
from .scripts import PUSH_MANY, PUSH_SLOT, queue_keys


async def push_to_members(
    conns: Connections,
    prefix: str,
    members: Sequence[str],
    capacity: Callable[[str], int],
    head: tuple[int, int, bytes],
) -> int:
    """Push to every member; ``head`` is (ttl ms, deadline ms, payload).

    Returns how many members were full (and skipped).
    """
    if conns.clustered:
        return await _push_by_slot(conns, prefix, members, capacity, head)
    by_shard: dict[int, list[Arg]] = {}
    for channel in members:
        shard = conns.shard_for(queue_keys(prefix, channel)[0])
        by_shard.setdefault(shard, []).extend((channel, capacity(channel)))

    async def push(index: int, pairs: list[Arg]) -> int:
        return int(await PUSH_MANY(conns.pipe(index), (), (prefix, *head, *pairs)))

    results = await asyncio.gather(*(push(i, pairs) for i, pairs in by_shard.items()))
    return sum(results)


async def _push_by_slot(
    conns: Connections,
    prefix: str,
    members: Sequence[str],
    capacity: Callable[[str], int],
    head: tuple[int, int, bytes],
) -> int:
    by_slot: dict[tuple[int, int], tuple[list[str], list[Arg]]] = {}
    for channel in members:
        list_key, count_key = queue_keys(prefix, channel, True)
        keys, args = by_slot.setdefault(conns.route(list_key), ([], []))
        keys.append(list_key)
        if count_key:
            keys.append(count_key)
        args.extend((channel, capacity(channel), 1 if count_key else 0))
    by_node: dict[int, list[tuple[list[str], list[Arg]]]] = {}
    for (index, _), (keys, args) in by_slot.items():
        by_node.setdefault(index, []).append((keys, [*head, *args]))
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
