"""The queue layer's ``group_send`` to a resumable group (see :mod:`.._group_state`).

With one shard (and no per-channel capacity patterns) storing the message in the
group's history and pushing it to every member is one script, so a member gets
exactly the messages the history holds, in its order. With several shards the
group's shard stores it and names the live members in one script, and the
pushes to the members' shards follow, as for any ``group_send``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...history import HistoryLimits
from .._group_state.scripts import HISTORY_GROUP_SEND, HISTORY_MEMBERS, group_keys
from .scripts import group_key

if TYPE_CHECKING:
    from .layer import RedisChannelLayer


async def group_send_kept(
    layer: RedisChannelLayer, group: str, limits: HistoryLimits, payload: bytes, now: int
) -> tuple[int, int]:
    """Store ``payload`` in ``group``'s history and deliver it.

    Returns how many members it was for, and how many of them were full.
    """
    conns = layer._conns
    # Membership is judged by the server's clock in the scripts (TIME), as in group_send.
    cutoffs = (int(layer.group_expiry * 1000), int(layer.member_timeout * 1000))
    deadline = now + int(layer.expiry * 1000)
    keys = group_keys(layer.prefix, group, conns.clustered)
    script_keys = (group_key(layer.prefix, group, conns.clustered), keys.meta, keys.stream)
    pipe = conns.pipe(conns.shard_for(group))
    kept = (group, layer._history.seen.candidate(group))  # see SeenPositions
    if layer._one_script:
        head = (now, *cutoffs, layer.prefix, layer.capacity, int(layer.expiry * 1000), deadline)
        members, skipped = await HISTORY_GROUP_SEND(
            pipe, script_keys, (*head, payload, *kept, limits.size, limits.ms)
        )
        return int(members), int(skipped)
    shard_args = (now, *cutoffs, *kept, limits.size, limits.ms, payload)
    stamped, *members = await HISTORY_MEMBERS(pipe, script_keys, shard_args)
    return len(members), await layer._push_many(members, deadline, stamped)
