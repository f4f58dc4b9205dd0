"""How error replies are sorted into the library's exceptions (no I/O)."""

from __future__ import annotations

import pytest
from fast_channels.exceptions import (
    ChannelLayerConnectionError,
    MessageTooLarge,
    RedisBusyError,
    RedisOutOfMemoryError,
    RedisPermissionError,
    RedisPersistenceError,
    RedisReplyError,
    RedisWrongTypeError,
)
from fast_channels.layers.redis._transport.errors import reply_code, reply_error
from redis._parsers.base import BaseParser
from redis.exceptions import RedisError

SCRIPT = "ERR Error running script (call to f_ab12): @user_script:23: @user_script: 23: "


def parsed(reply: str) -> RedisError:
    """The exception redis-py makes of the error reply ``-<reply>``."""
    error = BaseParser.parse_error(reply)
    assert isinstance(error, RedisError)
    return error


@pytest.mark.parametrize(
    ("reply", "code", "raised"),
    [
        ("OOM command not allowed when used memory > 'maxmemory'.", "OOM", RedisOutOfMemoryError),
        (SCRIPT + "-OOM command not allowed", "OOM", RedisOutOfMemoryError),
        ("BUSY Redis is busy running a script.", "BUSY", RedisBusyError),
        ("NOPERM User x has no permissions", "NOPERM", RedisPermissionError),
        ("MISCONF Redis is configured to save RDB snapshots", "MISCONF", RedisPersistenceError),
        ("WRONGTYPE Operation against a key", "WRONGTYPE", RedisWrongTypeError),
        (
            "ERR Error running script (call to f_1): @user_script:4: WRONGTYPE Operation",
            "WRONGTYPE",
            RedisWrongTypeError,
        ),
        ("ERR unknown command 'NOPE'", "ERR", RedisReplyError),
        ("READONLY You can't write against a read only replica.", "READONLY", None),
        (SCRIPT + "-READONLY You can't write against a read only replica.", "READONLY", None),
        ("LOADING Redis is loading the dataset in memory", "LOADING", None),
        ("MASTERDOWN Link with MASTER is down", "MASTERDOWN", None),
    ],
)
def test_each_reply_gets_its_code_and_class(
    reply: str, code: str, raised: type[RedisReplyError] | None
) -> None:
    error = parsed(reply)
    assert reply_code(error) == code
    result = reply_error(error, "redis://h:6379")
    if raised is None:  # a failover reply: the caller sees a connection error at most
        assert isinstance(result, ChannelLayerConnectionError)
    else:
        assert type(result) is raised
        assert result.code == code  # type: ignore[attr-defined]
        assert "redis://h:6379" in str(result)


def test_an_overlong_argument_is_message_too_large() -> None:
    result = reply_error(parsed("ERR Protocol error: invalid bulk length"), "redis://h:6379")
    assert isinstance(result, MessageTooLarge)
    assert "proto-max-bulk-len" in str(result)
