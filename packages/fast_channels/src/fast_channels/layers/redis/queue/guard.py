"""The queue layer's per-call deadline, and its bound for calls over the pool.

Most calls go through a shard's :class:`~.pipe.ShardPipe`, whose watchdog
fails them once Redis has not answered for ``COMMAND_TIMEOUT`` seconds. The
few commands that block (BRPOP on a named channel) use the pool instead, with
connections that have no socket timeout: redis-py's ``socket_timeout`` arms a
timer for every read and wraps every write's drain in a task (Python 3.11).
:class:`guarded` bounds each such whole call with one deadline instead.
Either way a call to an unreachable or silent Redis fails within a bounded
time with a clear :class:`~fast_channels.exceptions.ChannelLayerConnectionError`.
As with any timeout, a command already written may still run when the server
wakes up (a timed-out ``send`` can be delivered late).
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ....exceptions import ChannelLayerConnectionError
from .._transport.errors import unreachable
from .._transport.seam import Connections

#: Seconds a layer call may wait for Redis replies (read when a layer is built).
COMMAND_TIMEOUT = 10.0
#: What the queue layer's connections use unless ``connection_kwargs`` says otherwise.
QUEUE_CONNECTION_DEFAULTS = {"socket_timeout": None}


class guarded:
    """Bound a Redis call by ``limit`` seconds; turn connection failures into one clear error.

    A plain class rather than ``@asynccontextmanager``: it wraps every command,
    and a generator-based context manager costs several microseconds each time.
    """

    __slots__ = ("_conns", "_index", "_limit", "_timeout")

    def __init__(self, conns: Connections, index: int, limit: float | None = None):
        self._conns = conns
        self._index = index
        self._limit = COMMAND_TIMEOUT if limit is None else limit
        self._timeout = asyncio.timeout(self._limit)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError as timeout:
            raise self._error(f"did not answer within {self._limit}s") from timeout
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
            raise self._error(f"is unreachable ({exc})") from exc

    def _error(self, problem: str) -> ChannelLayerConnectionError:
        return unreachable(self._conns.hosts[self._index].describe(), problem)
