"""Serializers: msgpack/json round trips, clear errors, Fernet encryption with rotation."""

from __future__ import annotations

from typing import Any

import pytest
from fast_channels.layers.redis.serializers import (
    EncryptedSerializer,
    JSONSerializer,
    MsgpackSerializer,
    build_serializer,
)

MESSAGE = {"type": "chat.message", "text": "héllo", "n": 3, "ok": True, "items": [1, 2.5, None]}


@pytest.mark.parametrize("name", ["msgpack", "json"])
def test_round_trip(name: str) -> None:
    serializer = build_serializer(name)
    data = serializer.dumps(MESSAGE)
    assert isinstance(data, bytes)
    assert serializer.loads(data) == MESSAGE


def test_msgpack_keeps_bytes() -> None:
    s = MsgpackSerializer()
    assert s.loads(s.dumps({"type": "x", "blob": b"\x00\xff"})) == {
        "type": "x",
        "blob": b"\x00\xff",
    }


class Opaque:
    pass


@pytest.mark.parametrize("name", ["msgpack", "json"])
def test_unserializable_value_names_its_type(name: str) -> None:
    with pytest.raises(TypeError, match="'Opaque'"):
        build_serializer(name).dumps({"type": "x", "nested": {"value": Opaque()}})


def test_json_rejects_bytes_naming_the_type() -> None:
    with pytest.raises(TypeError, match="'bytes'"):
        JSONSerializer().dumps({"type": "x", "blob": b"1"})


def test_msgpack_huge_int_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="msgpack"):
        MsgpackSerializer().dumps({"type": "x", "n": 2**70})


def test_json_payload_must_be_a_dict() -> None:
    with pytest.raises(ValueError, match="dict"):
        JSONSerializer().loads(b"[1]")


def test_unknown_serializer_name() -> None:
    with pytest.raises(ValueError, match="'msgpack', 'json'"):
        build_serializer("pickle")


def test_serializer_object_without_methods_is_rejected() -> None:
    with pytest.raises(TypeError, match="dumps"):
        build_serializer(object())  # type: ignore[arg-type]


class Upper:
    """A user-provided serializer: anything with dumps/loads."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        return repr(message).upper().encode()

    def loads(self, data: bytes) -> dict[str, Any]:
        return {"type": data.decode()}


def test_custom_serializer_is_used_as_is() -> None:
    custom = Upper()
    assert build_serializer(custom) is custom


def test_encryption_hides_plaintext_and_round_trips() -> None:
    s = build_serializer("msgpack", ["k1"])
    assert isinstance(s, EncryptedSerializer)
    data = s.dumps(MESSAGE)
    assert b"chat.message" not in data
    assert s.loads(data) == MESSAGE


def test_key_rotation_new_key_first_still_reads_old_messages() -> None:
    old = build_serializer("json", ["old"])
    rotated = build_serializer("json", [b"new", "old"])
    assert rotated.loads(old.dumps(MESSAGE)) == MESSAGE
    new_only = build_serializer("json", ["new"])
    assert new_only.loads(rotated.dumps(MESSAGE)) == MESSAGE


def test_wrong_key_fails_loudly() -> None:
    from cryptography.fernet import InvalidToken

    data = build_serializer("msgpack", ["a"]).dumps(MESSAGE)
    with pytest.raises(InvalidToken):
        build_serializer("msgpack", ["b"]).loads(data)


@pytest.mark.parametrize("keys", ["single-string", [""], [1]])
def test_bad_keys(keys: Any) -> None:
    with pytest.raises(TypeError, match="key"):
        build_serializer("msgpack", keys)
