"""The connection options of one shard, from what the user configured and nothing else.

Pools, dedicated connections (pipes, subscribers, inbox readers) and Sentinel
clients are all built from :func:`connection_options`, never by copying a
redis-py pool's ``connection_kwargs``: since redis-py 8 those also carry the
pool's own per-pool state (maintenance-notification handlers, ``orig_*``
timeouts, an import registry) that must not be shared with connections built
outside the pool.

The protocol is chosen deliberately. When the user does not ask for one (no
``protocol`` in ``connection_kwargs``, no ``?protocol=`` in the URL) the layers
speak RESP2 on every redis-py version: redis-py 8 would otherwise switch to
RESP3 by default, and RESP2 works on every server (``HELLO`` needs Redis 6),
with every parser (hiredis or not) and is what the benchmarks measure. A user
who asks for ``protocol=3`` gets RESP3 everywhere; the subscriber and the
readers understand both reply shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .hosts import HostConfig

#: Defaults chosen so a call during an outage fails within a few seconds, not never.
#: redis-py 8 defaults both timeouts to 5 s; ours are explicit on every version.
DEFAULT_OPTIONS: Mapping[str, Any] = {
    "socket_connect_timeout": 2.0,
    "socket_timeout": 10.0,
    "socket_keepalive": True,
}
#: Seconds one sentinel may take to accept a connection, and again to answer a query,
#: before discovery moves on to the next sentinel. A sentinel answers from memory in
#: well under a millisecond, so this only bounds a hung or blackholed one.
SENTINEL_TIMEOUT = 1.0
#: The protocol the layers speak when the user does not choose one.
DEFAULT_PROTOCOL = 2
#: Options the layer owns: it decodes its own payloads, so a user's
#: ``decode_responses=True`` must not turn the bytes it reads into ``str``.
OWNED_OPTIONS: Mapping[str, Any] = {"decode_responses": False}
#: Pool-level options that a single connection does not take (``ssl``: a
#: Sentinel pool's choice of connection class, already made by the pool).
_POOL_ONLY = frozenset({"max_connections", "connection_class", "timeout", "connection_pool", "ssl"})


def connection_options(config: HostConfig) -> dict[str, Any]:
    """Every option for a connection to ``config``'s server (or Sentinel-managed master).

    Precedence, lowest first: :data:`DEFAULT_OPTIONS`, ``connection_kwargs`` and
    host dict entries, then the URL's own parts and query (as redis-py's
    ``from_url`` does), then :data:`OWNED_OPTIONS`. Includes ``connection_class``
    when the URL picks one (``rediss://``, ``unix://``) or ``ssl=True`` does.

    ``ssl=True`` is how ``redis.asyncio.Redis(...)`` takes TLS without a URL, but
    pools and connections take no ``ssl`` argument: it becomes the TLS
    connection class here (a Sentinel pool reads ``ssl`` itself, so it stays).
    """
    options: dict[str, Any] = {**DEFAULT_OPTIONS, **config.options}
    if config.url is not None:
        options.update(parse_url(config.url))
    if not config.is_sentinel and options.pop("ssl", False):
        options.setdefault("connection_class", SSLConnection)
    if "path" in options:  # unix sockets take neither TCP option
        options.pop("socket_keepalive", None)
        options.pop("socket_connect_timeout", None)
    options.setdefault("protocol", DEFAULT_PROTOCOL)
    options["protocol"] = int(options["protocol"])
    options.update(OWNED_OPTIONS)
    return options


def sentinel_options(config: HostConfig) -> dict[str, Any]:
    """Options for the clients that talk to the sentinels themselves.

    Discovery asks the sentinels one after the other, so what one hung
    sentinel costs is its timeouts times its retries: :data:`SENTINEL_TIMEOUT`
    and no retry here (redis-py 8 would retry a timeout 10 times, ~20 s per
    hung sentinel, longer than the whole connect may take, so discovery never
    reached the second one). The next sentinel is the retry; the one that
    answers is moved to the front by redis-py (``Sentinel.discover_master``,
    5.x to 8.x), so only the first discovery after a hang pays.

    The sentinels are asked over RESP2 whatever the data connections speak
    (redis-py 8 would default them to RESP3): discovery reads the same over
    either, and redis-py 5.x to 7.x cannot parse ``SENTINEL MASTERS`` over
    RESP3 (``KeyError: 'flags'``, fixed in 8.0), so a user's ``protocol=3``
    must not reach them. ``sentinel_kwargs`` override all of this.
    """
    return {
        "socket_connect_timeout": SENTINEL_TIMEOUT,
        "socket_timeout": SENTINEL_TIMEOUT,
        "retry": Retry(NoBackoff(), 0),
        "protocol": DEFAULT_PROTOCOL,
        **config.sentinel_kwargs,
    }


def connection_class(options: Mapping[str, Any]) -> type[AbstractConnection]:
    """The redis-py connection class ``options`` ask for (plain TCP by default)."""
    cls: type[AbstractConnection] = options.get("connection_class", Connection)
    return cls


def single_connection_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` without the pool-level keys a connection's constructor rejects."""
    return {k: v for k, v in options.items() if k not in _POOL_ONLY}
