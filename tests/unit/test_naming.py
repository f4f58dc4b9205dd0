"""Channel/group name rules and message validation shared by every layer."""

from __future__ import annotations

from typing import Any

import pytest
from fast_channels.layers.naming import (
    MAX_NAME_LENGTH,
    is_process_local,
    non_local_name,
    require_valid_channel_name,
    require_valid_group_name,
    require_valid_message,
)

VALID = ["chat", "chat.room-1_A", "a", "A.b-c_d.9", "x" * (MAX_NAME_LENGTH - 1)]
INVALID = ["", "has space", "é", "room/1", "room:1", "tab\t", "newline\n", "x" * MAX_NAME_LENGTH]


@pytest.mark.parametrize("name", VALID)
def test_valid_names_are_returned(name: str) -> None:
    assert require_valid_channel_name(name) == name
    assert require_valid_group_name(name) == name


def test_length_limit_is_shorter_than_100() -> None:
    assert MAX_NAME_LENGTH == 100
    require_valid_group_name("g" * 99)
    with pytest.raises(TypeError, match="shorter than 100"):
        require_valid_group_name("g" * 100)
    with pytest.raises(TypeError, match="shorter than 100"):
        require_valid_channel_name("c" * 100)


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names_raise_type_error_stating_the_rule(name: str) -> None:
    with pytest.raises(TypeError, match="ASCII letters, digits, hyphens, underscores"):
        require_valid_channel_name(name)
    with pytest.raises(TypeError, match="ASCII letters, digits, hyphens, underscores"):
        require_valid_group_name(name)


@pytest.mark.parametrize("name", [None, 1, b"chat", ["chat"]])
def test_non_str_names_raise_type_error(name: object) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        require_valid_channel_name(name)
    with pytest.raises(TypeError, match="must be a str"):
        require_valid_group_name(name)


@pytest.mark.parametrize("name", ["specific.x!abc123", "p!", "a.b-c!d_e.f"])
def test_process_local_channel_names(name: str) -> None:
    assert require_valid_channel_name(name) == name
    assert is_process_local(name)
    assert non_local_name(name) == name[: name.index("!") + 1]


@pytest.mark.parametrize("name", ["!abc", "a!b!c", "a!b c"])
def test_malformed_process_local_names_are_rejected(name: str) -> None:
    with pytest.raises(TypeError, match="prefix!suffix"):
        require_valid_channel_name(name)


def test_groups_cannot_be_process_local() -> None:
    with pytest.raises(TypeError, match="Group name"):
        require_valid_group_name("chat!abc")


def test_plain_names_are_not_process_local() -> None:
    assert not is_process_local("chat")
    assert non_local_name("chat") == "chat"


def test_valid_message_is_returned_unchanged() -> None:
    message = {"type": "chat.message", "text": "hi"}
    assert require_valid_message(message) is message


@pytest.mark.parametrize("message", [None, "chat.message", ["type"], ("type", "x"), 3])
def test_non_dict_message_is_rejected(message: object) -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        require_valid_message(message)


@pytest.mark.parametrize(
    "message",
    [{}, {"text": "hi"}, {"type": ""}, {"type": None}, {"type": 3}, {1: "x"}],
)
def test_message_without_str_type_is_rejected(message: dict[Any, Any]) -> None:
    with pytest.raises(TypeError, match="non-empty str 'type'"):
        require_valid_message(message)
