"""Exceptions raised by fast-channels.

Everything a user can get wrong raises one of these (or ``TypeError`` /
``ValueError`` for bad arguments) with a message that says what to change.
"""

from __future__ import annotations


class ChannelFull(Exception):
    """A channel already holds ``capacity`` messages; the send was refused.

    Nothing was written. Retry later, raise the layer's ``capacity`` (or a
    ``channel_capacity`` pattern for this channel), or make sure a consumer is
    reading from the channel.
    """


class ChannelLayerError(Exception):
    """Base of the errors a channel layer raises when its backing service fails a call.

    Catch this to handle every Redis failure at once; the subclasses say what
    went wrong and what to change. The Redis client's own exception, when
    there is one, is the ``__cause__``.
    """


class MessageTooLarge(ChannelLayerError, ValueError):
    """A message is larger than the layer (or the Redis server) accepts; nothing was sent.

    ``size`` is the size in bytes of the serialized message with its channel
    name, ``limit`` the limit it broke (``None`` when the server refused it
    and did not say its limit). Send less per message (an id, not the data),
    or raise the limit: the layer's documented limit, or the server's
    ``proto-max-bulk-len``.
    """

    def __init__(self, message: str, *, size: int | None = None, limit: int | None = None):
        super().__init__(message)
        self.size = size
        self.limit = limit


class ChannelLayerNotRegistered(LookupError):
    """No channel layer is registered under the requested alias."""

    def __init__(self, alias: str, registered: list[str]) -> None:
        self.alias = alias
        self.registered = registered
        known = ", ".join(repr(a) for a in registered) if registered else "none"
        super().__init__(
            f"Channel layer {alias!r} not registered. Registered aliases: {known}. "
            "Call your setup_channel_layers() before the app serves connections, "
            "and check that the consumer's channel_layer_alias matches."
        )

    def __str__(self) -> str:  # LookupError would wrap the message in quotes
        return str(self.args[0])


class ChannelLayerConnectionError(ChannelLayerError, ConnectionError):
    """The channel layer's backing service (Redis) could not be reached in time.

    Also raised while Redis fails over (a demoted primary answering
    ``READONLY``, a server still ``LOADING`` its data): the layer reconnects by
    itself, so a later call works once a primary answers. A call that failed
    this way may still have run on the server if its command was written
    before the connection went silent.
    """


class RedisReplyError(ChannelLayerError):
    """Redis refused a command of the layer with an error reply; the command did not run.

    ``code`` is the reply's first word (``"OOM"``, ``"BUSY"``, ``"NOPERM"``,
    ``"WRONGTYPE"``, ``"ERR"`` ...). The subclasses cover the replies a
    deployment can cause and fix; anything else here is worth a bug report.
    """

    #: What to change, appended to the server's own words.
    advice = "See the Redis server's log; if the layer sent a bad command, please report it."

    def __init__(self, code: str, reply: str, where: str = "") -> None:
        self.code = code
        self.reply = reply
        at = f" at {where}" if where else ""
        # redis-py 8 strips the code from replies it maps to a class ("OOM command
        # not allowed ..." becomes "command not allowed ..."): name it either way.
        text = reply.rstrip(".")
        shown = text if text.startswith(code) else f"{code} {text}"
        super().__init__(f"Redis{at} refused a command: {shown}. {self.advice}")


class RedisOutOfMemoryError(RedisReplyError):
    """``OOM``: the server reached ``maxmemory`` and evicts nothing (nothing was written)."""

    advice = (
        "Raise maxmemory, pick an eviction policy (volatile-lru keeps the layer's "
        "expiring keys evictable), or make sure consumers read their channels."
    )


class RedisBusyError(RedisReplyError):
    """``BUSY``: a long Lua script or function holds the server; retry shortly."""

    advice = (
        "Another client's script is running past busy-reply-threshold; it may be "
        "stopped with SCRIPT KILL. Retrying after a moment usually works."
    )


class RedisPermissionError(RedisReplyError):
    """``NOPERM``/``NOAUTH``/``WRONGPASS``: the Redis user may not run what the layer needs."""

    advice = (
        "Grant the layer's Redis user the commands it runs (EVALSHA, EVAL, PUBLISH, "
        "SUBSCRIBE, BLMPOP/BRPOP, ZREM, SCAN, UNLINK) on keys under its prefix, or fix "
        "the password in the URL."
    )


class RedisPersistenceError(RedisReplyError):
    """``MISCONF``: the server refuses writes because it cannot save (a full disk)."""

    advice = (
        "Redis stops writes when a snapshot fails (stop-writes-on-bgsave-error): free "
        "disk space or fix the dump directory's permissions, see the server's log."
    )


class RedisWrongTypeError(RedisReplyError):
    """``WRONGTYPE``: a key under the layer's prefix holds data of another kind."""

    advice = (
        "Something else writes keys under this layer's prefix: give each layer and "
        "app its own prefix, or flush() the layer."
    )


class StopConsumer(Exception):
    """Raise from a consumer handler to stop the consumer cleanly."""


class AcceptConnection(Exception):
    """Raise during ``websocket.connect`` handling to accept the connection."""


class DenyConnection(Exception):
    """Raise during ``websocket.connect`` handling to reject the connection (HTTP 403)."""


class InvalidMessageType(ValueError):
    """A consumer received a message whose ``type`` it has no handler for."""


# Presence and resumable groups ---------------------------------------------------------


class InvalidPosition(ValueError):
    """A history position (``"<epoch>:<offset>"``) a client sent could not be parsed.

    Positions come from untrusted clients (a query string, ``Last-Event-ID``):
    catch this for that one client and answer it, e.g. with a fresh reload.
    """


class HistoryUnrecoverable(Exception):
    """Missed messages of a resumable group can't be replayed: reload the state instead.

    :attr:`reason` is ``"epoch"`` (the history was lost, e.g. Redis was wiped or
    failed over, or the position belongs to another epoch), ``"too_old"`` (the
    messages after the position were trimmed by the group's size or age limit) or
    ``"ahead"`` (the position is past the newest message: it was never issued
    here). :attr:`position` is the group's newest position now (``None`` when the
    group has no history yet), from which live delivery continues.
    """

    def __init__(self, group: str, reason: str, position: object | None) -> None:
        self.group = group
        self.reason = reason
        self.position = position
        explain = {
            "epoch": "its history was lost (Redis restarted empty or failed over) or the "
            "position is from another epoch",
            "too_old": "the messages after that position are no longer kept (raise the "
            "size or age in group_history)",
            "ahead": "the position is newer than anything sent to the group",
        }.get(reason, reason)
        super().__init__(
            f"Cannot recover group {group!r}: {explain}. Reload the client's state "
            "and continue from the current position."
        )
