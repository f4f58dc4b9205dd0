"""What the Redis plumbing treats as a broken connection, and the errors callers see.

One place for the classification every background task and call path uses:
``CONNECTION_ERRORS`` means the connection is gone or silent (drop it,
reconnect); ``RETRYABLE`` is what a retry may cure without a new
connection's help; anything else is an error reply or a bug, which a
background task logs and survives.

Error replies are sorted here too, so no redis-py exception reaches a
layer's caller: :func:`failover_reply` names the replies of a server that is
not (or not yet) a writable primary, which call for a new connection, and
:func:`reply_error` turns every other reply into the library's exception.
"""

from __future__ import annotations

import asyncio

import redis.exceptions
from redis.exceptions import (
    BusyLoadingError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ....exceptions import (
    ChannelLayerConnectionError,
    ChannelLayerError,
    MessageTooLarge,
    RedisBusyError,
    RedisOutOfMemoryError,
    RedisPermissionError,
    RedisPersistenceError,
    RedisReplyError,
    RedisWrongTypeError,
)

#: What a broken connection raises, in redis-py or from the socket.
CONNECTION_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
#: Error replies, including the one redis-py files as a connection error (LOADING).
REPLY_ERRORS = (ResponseError, BusyLoadingError)
#: Errors a retry on a fresh connection may cure (an outage, a failover in progress).
RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError, ReadOnlyError)

#: Reply codes of a server that cannot serve us now: a demoted primary
#: (READONLY; UNBLOCKED to clients blocked on it), one still loading its data
#: (LOADING), a replica cut off from its primary (MASTERDOWN), a cluster slot
#: in migration (TRYAGAIN), a cluster with slots nobody serves while a replica
#: is promoted (CLUSTERDOWN). The command did not run; a new connection (perhaps
#: to another server behind the same address) may succeed. The one list every
#: background task and the pipe use (see :mod:`.faults`).
FAILOVER_CODES = frozenset(
    {"READONLY", "LOADING", "MASTERDOWN", "UNBLOCKED", "TRYAGAIN", "CLUSTERDOWN"}
)
#: A cluster node's answer that another node serves the key's slot (for good:
#: MOVED; during a migration, for one command: ASK). The command did not run.
#: The pipe follows them (:mod:`.cluster`); background tasks treat them as a
#: failover: ask which node serves the slot now, and retry soon.
REDIRECT_CODES = frozenset({"MOVED", "ASK"})
#: Reply codes no retry can cure until someone changes the setup.
PERMANENT_CODES = frozenset({"NOPERM", "WRONGTYPE", "NOAUTH", "WRONGPASS"})

# redis-py strips the code from the replies it maps to its own classes, and
# which replies get a class differs by version (8.x adds MasterDownError...).
_CODE_OF_CLASS: tuple[tuple[type[RedisError], str], ...] = tuple(
    (cls, code)
    for name, code in (
        ("ReadOnlyError", "READONLY"),
        ("BusyLoadingError", "LOADING"),
        ("OutOfMemoryError", "OOM"),
        ("NoPermissionError", "NOPERM"),
        ("MasterDownError", "MASTERDOWN"),
        ("TryAgainError", "TRYAGAIN"),
        ("MovedError", "MOVED"),
        ("AskError", "ASK"),
        ("ClusterDownError", "CLUSTERDOWN"),
    )
    if isinstance(cls := getattr(redis.exceptions, name, None), type)
)
_CLASSES: dict[str, type[RedisReplyError]] = {
    "OOM": RedisOutOfMemoryError,
    "BUSY": RedisBusyError,
    "NOPERM": RedisPermissionError,
    "NOAUTH": RedisPermissionError,
    "WRONGPASS": RedisPermissionError,
    "MISCONF": RedisPersistenceError,
    "WRONGTYPE": RedisWrongTypeError,
}
_KNOWN_CODES = FAILOVER_CODES | PERMANENT_CODES | REDIRECT_CODES | _CLASSES.keys() | {"CROSSSLOT"}
#: Replies to an argument longer than the server's ``proto-max-bulk-len``.
_TOO_LARGE = ("invalid bulk length", "exceeds maximum allowed size")


def reply_code(exc: RedisError) -> str:
    """The code of an error reply (``"OOM"``, ``"READONLY"`` ...), ``"ERR"`` if it has none.

    A Lua script that hit an error reply reports it inside its own
    (``"Error running script ...: -READONLY You can't write ..."``): the inner
    code is the one that says what happened.
    """
    for cls, code in _CODE_OF_CLASS:
        if isinstance(exc, cls):
            return code
    text = str(exc)
    if text.startswith(("Error running script", "ERR Error running script")):
        # "...: @user_script:4: WRONGTYPE ..." or "...: @user_script: 23: -READONLY ..."
        for word in text.split(" "):
            if word.lstrip("-") in _KNOWN_CODES:
                return word.lstrip("-")
        return "ERR"
    first = text.split(" ", 1)[0]
    return first if first.isupper() and first.isalpha() else "ERR"


def failover_reply(exc: RedisError) -> bool:
    """Whether ``exc`` says the server is not a writable primary right now."""
    return reply_code(exc) in FAILOVER_CODES


def reply_error(exc: RedisError, where: str) -> ChannelLayerError:
    """The library's exception for the error reply ``exc`` (chain ``exc`` as its cause).

    A ``ChannelLayerConnectionError`` exactly for the replies of
    :func:`failover_reply`; ``MessageTooLarge`` for an over-long argument;
    a :class:`~fast_channels.exceptions.RedisReplyError` for the others.
    """
    code = reply_code(exc)
    text = str(exc)
    if any(marker in text for marker in _TOO_LARGE):
        return MessageTooLarge(
            f"Redis at {where} refused it as too large ({text}): its "
            "proto-max-bulk-len is smaller. Send smaller messages or raise "
            "proto-max-bulk-len."
        )
    if code in FAILOVER_CODES:
        return unreachable(where, f"cannot take writes now ({code}: {text})")
    return _CLASSES.get(code, RedisReplyError)(code, text, where)


def unreachable(where: str, problem: str, note: str = "") -> ChannelLayerConnectionError:
    """The one error every Redis layer raises when a server is away or silent.

    ``problem`` completes "Redis at <where> ...", e.g. ``"is unreachable (reason)"``
    or ``"did not answer within 10.0s"``; ``note`` says what it means for the caller.
    """
    return ChannelLayerConnectionError(
        f"Redis at {where} {problem}. Check that it is running (redis-cli ping) and the "
        f"URL is right; the layer reconnects by itself once it answers.{note and ' ' + note}"
    )
