"""What the queue layer keeps per running event loop: readers, mailboxes, heartbeat.

redis-py connections (and so the tasks that use them) belong to one event
loop. A layer registered at import time can serve an app's loop and, say, a
script's ``asyncio.run()`` after it; each gets its own state, created on
first use and kept by :meth:`RedisConnections.local
<.._transport.connections.RedisConnections.local>`, which closes it by
``close()`` or when its loop shuts down.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from ...naming import non_local_name
from .._transport.seam import Connections
from .._transport.tasks import now_ms
from .mailbox import FlushCutoff
from .membership import MembershipKeeper
from .named import NamedReader
from .readers import InboxReader
from .scripts import queue_keys


class LoopState:
    """Readers and memberships of one layer in one event loop."""

    def __init__(
        self,
        conns: Connections,
        prefix: str,
        *,
        block: float,
        expiry: float,
        group_expiry: float,
        heartbeat_interval: float,
        member_timeout: float,
        capacity: Callable[[str], int],
    ) -> None:
        self._conns = conns
        self._prefix = prefix
        self._block = block
        self._member_timeout = member_timeout
        self._capacity = capacity
        self._cutoff = FlushCutoff(int(expiry * 1000))
        #: Distinguishes this process (and loop) in process-local channel names.
        self.token = secrets.token_hex(6)
        self.inboxes: dict[str, InboxReader] = {}
        self.named: dict[str, NamedReader] = {}
        self._prune_named_at = 64
        self.members = MembershipKeeper(
            conns,
            prefix,
            group_expiry=group_expiry,
            interval=heartbeat_interval,
            is_live=self.is_live,
        )

    def inbox_for(self, channel: str) -> InboxReader:
        """The (started) reader of the inbox that holds process-local ``channel``."""
        name = non_local_name(channel)
        reader = self.inboxes.get(name)
        if reader is None:
            list_key, count_key = queue_keys(self._prefix, channel, self._conns.clustered)
            reader = self.inboxes[name] = InboxReader(
                self._conns,
                list_key,
                count_key,
                block=self._block,
                cutoff=self._cutoff,
                capacity=self._capacity,
                idle_after=self._member_timeout,
            )
        reader.start()
        return reader

    def named_for(self, channel: str) -> NamedReader:
        reader = self.named.get(channel)
        if reader is None:
            if len(self.named) >= self._prune_named_at:
                # Forget readers of channels nobody receives from any more, now
                # and then (amortised): a process may use many names over weeks.
                for name in [n for n, r in self.named.items() if r.idle]:
                    del self.named[name]
                self._prune_named_at = max(64, 2 * len(self.named))
            list_key, _ = queue_keys(self._prefix, channel, self._conns.clustered)
            reader = self.named[channel] = NamedReader(
                self._conns,
                list_key,
                channel,
                block=self._block,
                cutoff=self._cutoff,
            )
        return reader

    def is_live(self, channel: str) -> bool:
        """A receive() waits on ``channel`` or returned within ``member_timeout``."""
        reader = self.inboxes.get(non_local_name(channel))
        box = reader.mailboxes.get(channel) if reader is not None else None
        if box is None:
            return False
        return box.has_waiters or time.monotonic() - box.last_active < self._member_timeout

    def forget_messages(self) -> None:
        """Drop what reached this process but was not received (``flush()``).

        Messages sent before now that a reader has in flight are dropped too.
        """
        self._cutoff.at = now_ms()
        for reader in self.inboxes.values():
            for box in reader.mailboxes.values():
                box.items.clear()
        for named in self.named.values():
            named.mailbox.items.clear()
        self.members.clear()

    def release(self, channel: str) -> list[str]:
        """Forget process-local ``channel`` here; return the groups it was kept in."""
        reader = self.inboxes.get(non_local_name(channel))
        if reader is not None:
            reader.mailboxes.pop(channel, None)
        return self.members.forget(channel)

    async def close(self, *, graceful: bool) -> None:
        """Stop readers and heartbeat; when ``graceful``, also leave groups in Redis.

        A loop that shuts down skips the round trips (its tasks are cancelled
        already); its memberships lapse after ``member_timeout`` instead.
        """
        await self.members.stop()
        if graceful:
            await self.members.leave_all()
        readers: list[InboxReader | NamedReader] = [*self.inboxes.values(), *self.named.values()]
        for reader in readers:
            await reader.stop()
        self.inboxes.clear()
        self.named.clear()
