"""The pub/sub layer's presence heartbeat: the queue layer's, reused.

Pub/sub stores nothing else, so it has no heartbeat of its own; presence needs
one (to heal after Redis restarts empty, and to let a dead process's entries
lapse). Each event loop gets a :class:`~..queue.membership.MembershipKeeper`
with no memberships, only the loop's presences attached, so retries, back-off
and error handling are the same code as the queue layer's.
"""

from __future__ import annotations

from .._group_state.presence import PresenceKeeper
from .._transport.scan import delete_matching
from .._transport.seam import Connections
from ..queue.membership import MembershipKeeper


class PresenceHeartbeat:
    """Makes the heartbeat of each loop's presences (kept with them, see ``RedisPresence``)."""

    def __init__(self, conns: Connections, prefix: str, interval: float) -> None:
        self._conns = conns
        self._prefix = prefix
        self.interval = interval

    def attach(self, presence: PresenceKeeper) -> MembershipKeeper:
        """A heartbeat that re-asserts ``presence`` every ``interval`` (started by ``wake``)."""
        keeper = MembershipKeeper(
            self._conns,
            self._prefix,
            group_expiry=86400.0,  # unused: no memberships here, only presences
            interval=self.interval,
            is_live=lambda channel: True,
        )
        keeper.attach(presence)
        return keeper


async def delete_stored(conns: Connections, prefix: str) -> None:
    """Delete this prefix's presence and history keys on every shard (``flush()``)."""
    for index in await conns.shard_indices():
        for pattern in (f"{prefix}:p:*", f"{prefix}:hm:*", f"{prefix}:hs:*"):
            await delete_matching(conns, index, pattern)
