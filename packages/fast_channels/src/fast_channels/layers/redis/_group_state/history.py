"""History on Redis, for both Redis layers: a capped stream per resumable group.

``group_send`` to a resumable group stores the serialized message and stamps
its position in the same script that fans it out (the queue layer) or
publishes it (the pub/sub layer), so a member can never get a message the
history does not have, nor in another order. The stamp travels in front of the
serialized payload (``"\\xc1pos:<epoch>:<offset>:<group>:"``, a prefix no
serializer produces: 0xC1 is never used by msgpack, JSON starts with ``{`` and
Fernet tokens with ``g``); :class:`PositionedSerializer` turns it into the
message's ``__position__`` key on the receiving side, whatever the serializer.
"""

from __future__ import annotations

import secrets
from typing import Any

from ...history import (
    POSITION_KEY,
    GroupHistory,
    HistoryLimits,
    HistoryPolicy,
    Position,
    check_recoverable,
    require_history,
    stamp,
)
from .._transport.seam import Connections
from ..serializers import Serializer
from .scripts import HISTORY_PUBLISH, HISTORY_READ, group_keys

MARK = b"\xc1pos:"


class SeenPositions:
    """The newest position this process has seen per resumable group (bounded).

    Sent with each write, so the script can tell a history that went back within
    its epoch (a failover to a replica that missed the newest writes) and start a
    new epoch instead of issuing the lost positions again.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, int]] = {}  # group -> (epoch, offset)

    def note(self, group: str, epoch: str, offset: int) -> None:
        # On every received message of a resumable group: plain tuples, no objects.
        known = self._seen.get(group)
        if known is None or known[0] != epoch or known[1] < offset:
            if known is None and len(self._seen) >= 10_000:  # group names may churn
                self._seen.clear()
            self._seen[group] = (epoch, offset)

    def candidate(self, group: str) -> str:
        """The epoch argument of a write: a fresh epoch, and the newest position seen."""
        known = self._seen.get(group)
        fresh = new_epoch()
        return fresh if known is None else f"{fresh}:{known[0]}:{known[1]}"


class PositionedSerializer:
    """Wraps a layer's serializer: decodes the position stamp of resumable groups."""

    def __init__(self, inner: Serializer, seen: SeenPositions | None = None) -> None:
        self.inner = inner
        #: Where the positions of received messages are noted (for the next write).
        self.seen = seen if seen is not None else SeenPositions()
        # The last stamp read, keyed by the payload object itself: the pub/sub layer
        # hands one group message to every local member as the same bytes, so the
        # stamp is parsed once per process, not once per member.
        self._last: tuple[bytes, int, str, str, int] | None = None

    def dumps(self, message: dict[str, Any]) -> bytes:
        return self.inner.dumps(message)

    def loads(self, data: bytes) -> dict[str, Any]:
        if not data.startswith(MARK):
            return self.inner.loads(data)
        last = self._last
        if last is not None and last[0] is data:
            _, start, group, epoch, offset = last
        else:  # "<epoch>:<offset>:<group>:" (a group name has no colon), then the payload
            after_epoch = data.index(b":", len(MARK))
            after_offset = data.index(b":", after_epoch + 1)
            after_group = data.index(b":", after_offset + 1)
            epoch = data[len(MARK) : after_epoch].decode()
            offset = int(data[after_epoch + 1 : after_offset])
            group = data[after_offset + 1 : after_group].decode()
            start = after_group + 1
            self._last = (data, start, group, epoch, offset)
            self.seen.note(group, epoch, offset)
        message = self.inner.loads(data[start:])
        message[POSITION_KEY] = stamp(group, epoch, offset)
        return message


def new_epoch() -> str:
    """An epoch candidate; the script keeps the group's current one if it has one."""
    return secrets.token_hex(4)


class RedisHistory:
    """Reads a group's history; the layers' send paths use :func:`history_args`."""

    def __init__(
        self,
        conns: Connections,
        prefix: str,
        policy: HistoryPolicy,
        serializer: PositionedSerializer,
    ) -> None:
        self._conns = conns
        self._prefix = prefix
        self.policy = policy
        self._serializer = serializer
        self.seen = serializer.seen

    def keys(self, group: str) -> tuple[str, str]:
        keys = group_keys(self._prefix, group, self._conns.clustered)
        return keys.meta, keys.stream

    async def read(self, group: str, since: Position | str | None) -> GroupHistory:
        """One script on the group's shard: the epoch, the last offset and the rows."""
        limits = require_history(self.policy, group)
        start = Position.parse(since) if since is not None else None
        pipe = self._conns.pipe(self._conns.shard_for(group))
        args = (start.offset if start is not None else 0, limits.ms)
        reply = await HISTORY_READ(pipe, self.keys(group), args)
        epoch = reply[0].decode() or None
        top = int(reply[1])
        offsets = [int(x) for x in reply[2::2]]
        if start is not None:
            check_recoverable(group, start, epoch, top, offsets[0] if offsets else None)
        if epoch is None:
            return GroupHistory()
        self.seen.note(group, epoch, top)
        messages = []
        for offset, payload in zip(offsets, reply[3::2], strict=True):
            message = self._serializer.loads(payload)
            message[POSITION_KEY] = stamp(group, epoch, offset)
            messages.append(message)
        return GroupHistory(messages, Position(epoch, top))

    async def publish(
        self, group: str, limits: HistoryLimits, payload: bytes, channel_key: bytes
    ) -> None:
        """The pub/sub layer's ``group_send``: store and (S)PUBLISH in one script."""
        pipe = self._conns.pipe(self._conns.shard_for(group))
        candidate = self.seen.candidate(group)
        verb = b"SPUBLISH" if self._conns.clustered else b"PUBLISH"  # cluster: sharded
        args = (group, candidate, 0, limits.size, limits.ms, payload, channel_key, verb)
        await HISTORY_PUBLISH(pipe, self.keys(group), args)
