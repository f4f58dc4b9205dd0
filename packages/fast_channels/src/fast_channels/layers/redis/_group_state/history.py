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
from .._transport.tasks import now_ms
from ..serializers import Serializer
from .scripts import HISTORY_PUBLISH, HISTORY_READ, group_keys

MARK = b"\xc1pos:"


class PositionedSerializer:
    """Wraps a layer's serializer: decodes the position stamp of resumable groups."""

    def __init__(self, inner: Serializer) -> None:
        self.inner = inner

    def dumps(self, message: dict[str, Any]) -> bytes:
        return self.inner.dumps(message)

    def loads(self, data: bytes) -> dict[str, Any]:
        if not data.startswith(MARK):
            return self.inner.loads(data)
        epoch, offset, group, payload = bytes(data[len(MARK) :]).split(b":", 3)
        message = self.inner.loads(payload)
        message[POSITION_KEY] = stamp(group.decode(), epoch.decode(), int(offset))
        return message


def new_epoch() -> str:
    """An epoch candidate; the script keeps the group's current one if it has one."""
    return secrets.token_hex(4)


class RedisHistory:
    """Reads a group's history; the layers' send paths use :func:`history_args`."""

    def __init__(
        self, conns: Connections, prefix: str, policy: HistoryPolicy, serializer: Serializer
    ) -> None:
        self._conns = conns
        self._prefix = prefix
        self.policy = policy
        self._serializer = serializer

    def keys(self, group: str) -> tuple[str, str]:
        keys = group_keys(self._prefix, group, self._conns.clustered)
        return keys.meta, keys.stream

    async def read(self, group: str, since: Position | str | None) -> GroupHistory:
        """One script on the group's shard: the epoch, the last offset and the rows."""
        limits = require_history(self.policy, group)
        start = Position.parse(since) if since is not None else None
        pipe = self._conns.pipe(self._conns.shard_for(group))
        args = (start.offset if start is not None else 0, now_ms() - limits.ms)
        reply = await HISTORY_READ(pipe, self.keys(group), args)
        epoch = reply[0].decode() or None
        top = int(reply[1])
        offsets = [int(x) for x in reply[2::2]]
        if start is not None:
            check_recoverable(group, start, epoch, top, offsets[0] if offsets else None)
        if epoch is None:
            return GroupHistory()
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
        verb = b"SPUBLISH" if self._conns.clustered else b"PUBLISH"  # cluster: sharded
        args = (group, new_epoch(), now_ms(), limits.size, limits.ms, payload, channel_key, verb)
        await HISTORY_PUBLISH(pipe, self.keys(group), args)
