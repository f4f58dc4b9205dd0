"""Deleting every key that matches a pattern on one shard (the layers' ``flush()``)."""

from __future__ import annotations

from .resp import pack
from .seam import Connections


async def delete_matching(conns: Connections, index: int, pattern: str) -> None:
    """SCAN shard ``index`` for ``pattern`` and UNLINK what it finds, a batch at a time.

    Each call is bounded on its own, so a big keyspace takes many. On a
    cluster the keys of one batch may sit in several slots, which one UNLINK
    may not span: each is unlinked by itself, all in one write.
    """
    pipe = conns.pipe(index)
    cursor = b"0"
    while True:
        cursor, keys = await pipe.call(pack(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", 1000))
        if keys and conns.clustered:
            for result in await pipe.call_batch([pack(b"UNLINK", key) for key in keys]):
                if isinstance(result, BaseException):
                    raise result
        elif keys:
            await pipe.call(pack(b"UNLINK", *keys))
        if cursor == b"0":
            break
