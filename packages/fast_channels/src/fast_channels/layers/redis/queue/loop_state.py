"""What the queue layer keeps per running event loop: readers, mailboxes, heartbeat.

redis-py connections (and so the tasks that use them) belong to one event
loop. A layer registered at import time can serve an app's loop and, say, a
script's ``asyncio.run()`` after it; each gets its own state, created on
first use and dropped by ``close()`` or once its loop is closed.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ...naming import non_local_name
from .._transport.connections import RedisConnections
from .._transport.tasks import now_ms
from .mailbox import FlushCutoff
from .membership import MembershipKeeper
from .named import NamedReader
from .readers import InboxReader
from .scripts import queue_keys

T = TypeVar("T")


class LoopState:
    """Readers and memberships of one layer in one event loop."""

    def __init__(
        self,
        conns: RedisConnections,
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
            list_key, count_key = queue_keys(self._prefix, channel)
            reader = self.inboxes[name] = InboxReader(
                self._conns,
                self._conns.shard_for(list_key),
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
            list_key, _ = queue_keys(self._prefix, channel)
            reader = self.named[channel] = NamedReader(
                self._conns,
                self._conns.shard_for(list_key),
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

    async def close(self) -> None:
        await self.members.stop()
        await self.members.leave_all()
        readers: list[InboxReader | NamedReader] = [*self.inboxes.values(), *self.named.values()]
        for reader in readers:
            await reader.stop()
        self.inboxes.clear()
        self.named.clear()


class LoopStates:
    """``LoopState`` per running event loop."""

    def __init__(self) -> None:
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopState] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, loop: asyncio.AbstractEventLoop) -> LoopState | None:
        return self._states.get(loop)

    def put(self, loop: asyncio.AbstractEventLoop, state: LoopState) -> None:
        for old in [lp for lp in self._states if lp.is_closed()]:
            del self._states[old]  # tasks keep their loop alive: prune by hand
        self._states[loop] = state

    def pop(self, loop: asyncio.AbstractEventLoop) -> LoopState | None:
        return self._states.pop(loop, None)


def run_sync(operation: Coroutine[Any, Any, T], close: Callable[[], Awaitable[None]]) -> T:
    """Run ``operation`` in a private event loop, then ``close()`` that loop's state."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        operation.close()
        raise RuntimeError(
            "send_sync()/group_send_sync() cannot run inside an event loop: "
            "use 'await layer.send(...)' / 'await layer.group_send(...)' there."
        )

    async def run_then_close() -> T:
        try:
            return await operation
        finally:
            await close()

    return asyncio.run(run_then_close())
