"""How the queue layer's readers classify what they catch (no I/O)."""

from __future__ import annotations

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError
from fast_channels.layers.redis._transport.faults import Fault, classify, is_unknown_command
from redis._parsers.base import BaseParser
from redis.exceptions import ConnectionError as RedisConnectionError


def reply(text: str) -> Exception:
    """The exception redis-py raises for the error reply ``-<text>``."""
    return BaseParser.parse_error(text)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("UNBLOCKED force unblock from blocking operation, instance state changed", "failover"),
        ("READONLY You can't write against a read only replica.", "failover"),
        ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is 'no'", "failover"),
        ("LOADING Redis is loading the dataset in memory", "failover"),
        ("NOPERM this user has no permissions to run the 'brpop' command", "permanent"),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", "permanent"),
        ("OOM command not allowed when used memory > 'maxmemory'.", "transient"),
        ("BUSY Redis is busy running a script.", "transient"),
        ("MISCONF Redis is configured to save RDB snapshots, but can't persist", "transient"),
    ],
)
def test_error_replies(text: str, kind: str) -> None:
    assert classify(reply(text)) is Fault(kind)


def test_wrapped_replies_keep_their_kind() -> None:
    wrapped = ChannelLayerConnectionError("Redis refused the call")
    wrapped.__cause__ = reply("UNBLOCKED force unblock")
    assert classify(wrapped) is Fault.FAILOVER


def test_connection_errors_and_bugs() -> None:
    assert classify(RedisConnectionError("reset")) is Fault.CONNECTION
    assert classify(ChannelLayerConnectionError("gone")) is Fault.CONNECTION
    assert classify(KeyError("bug")) is Fault.TRANSIENT


def test_only_unknown_command_means_an_old_server() -> None:
    assert is_unknown_command(reply("ERR unknown command 'BLMPOP', with args beginning with: "))
    assert not is_unknown_command(reply("UNBLOCKED force unblock"))
    assert not is_unknown_command(reply("OOM command not allowed"))
