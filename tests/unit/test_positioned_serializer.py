"""The position stamp in front of a resumable group's payloads, read back into messages."""

from __future__ import annotations

import pytest
from fast_channels.layers.history import POSITION_KEY
from fast_channels.layers.redis._group_state.history import MARK, PositionedSerializer
from fast_channels.layers.redis.serializers import build_serializer


def stamped(inner: PositionedSerializer, epoch: str, offset: int, group: str, text: str) -> bytes:
    payload = inner.dumps({"type": "chat.message", "text": text})
    return MARK + f"{epoch}:{offset}:{group}:".encode() + payload


@pytest.mark.parametrize("name", ["msgpack", "json"])
def test_each_member_gets_its_own_message_with_the_position(name: str) -> None:
    serializer = PositionedSerializer(build_serializer(name, None))
    data = stamped(serializer, "a1b2c3d4", 17, "room.lobby-1", "hi: there")
    first, second = serializer.loads(data), serializer.loads(data)  # two members, same bytes
    expected = {
        "type": "chat.message",
        "text": "hi: there",
        POSITION_KEY: {"group": "room.lobby-1", "epoch": "a1b2c3d4", "offset": 17},
    }
    assert first == second == expected
    first[POSITION_KEY]["offset"] = 0  # one member's copy is its own
    assert second[POSITION_KEY]["offset"] == 17


def test_the_next_message_is_read_afresh_and_plain_payloads_pass_through() -> None:
    serializer = PositionedSerializer(build_serializer("msgpack", None))
    serializer.loads(stamped(serializer, "e1", 1, "g", "one"))
    assert serializer.loads(stamped(serializer, "e2", 2, "h", "two")) == {
        "type": "chat.message",
        "text": "two",
        POSITION_KEY: {"group": "h", "epoch": "e2", "offset": 2},
    }
    plain = serializer.dumps({"type": "x"})
    assert serializer.loads(plain) == {"type": "x"}
