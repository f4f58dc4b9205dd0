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


def _raised_inside(inner: BaseException) -> RedisConnectionError:
    """A redis-py ConnectionError raised while handling ``inner``, as its connect() does."""
    try:
        try:
            raise inner
        except OSError as exc:
            raise RedisConnectionError(f"Error 1 connecting to 127.0.0.1:6380. {exc}.")  # noqa: B904
    except RedisConnectionError as outer:
        return outer


def test_tls_setup_errors_are_permanent_and_other_tls_errors_are_not() -> None:
    """A CA that does not verify the server cannot heal by retrying; a cut handshake can."""
    import ssl

    unverified = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert classify(_raised_inside(unverified)) is Fault.PERMANENT
    mismatch = ssl.SSLError(116, "[X509: KEY_VALUES_MISMATCH] key values mismatch")
    mismatch.library = "X509"
    assert classify(_raised_inside(mismatch)) is Fault.PERMANENT
    cut = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    assert classify(_raised_inside(cut)) is Fault.CONNECTION
    assert classify(_raised_inside(ConnectionResetError(104, "reset"))) is Fault.CONNECTION
