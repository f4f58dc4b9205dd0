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


class MessageTooLarge(ValueError):
    """A message is larger than the layer (or the transport) accepts."""


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


class ChannelLayerConnectionError(ConnectionError):
    """The channel layer's backing service (Redis) could not be reached in time."""


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
