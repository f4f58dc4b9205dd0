"""Turning messages into bytes for Redis, optionally encrypted.

Plug in your own format by passing any object with ``dumps(message) ->
bytes`` and ``loads(data) -> dict`` as ``serializer=`` (see
:class:`Serializer`). Encryption wraps whatever serializer is chosen.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import msgpack

logger = logging.getLogger("fast_channels.layers.redis")
_ALLOWED = "str, bytes, int, float, bool, None, lists/tuples and dicts with str keys"


@runtime_checkable
class Serializer(Protocol):
    """What a layer needs from a serializer."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        """Encode a message; raise ``TypeError`` naming any value that can't be encoded."""
        ...

    def loads(self, data: bytes) -> dict[str, Any]:
        """Decode bytes produced by :meth:`dumps`."""
        ...


def _unserializable(obj: object, fmt: str) -> TypeError:
    preview = repr(obj)
    if len(preview) > 60:
        preview = preview[:57] + "..."
    return TypeError(
        f"Cannot serialize a value of type {type(obj).__name__!r} ({preview}) with {fmt}: "
        f"channel layer messages may contain only {_ALLOWED}."
    )


class MsgpackSerializer:
    """Compact binary encoding (the default). Keeps ``bytes`` as bytes."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        def default(obj: object) -> Any:
            raise _unserializable(obj, "msgpack")

        try:
            return msgpack.packb(message, use_bin_type=True, default=default)  # type: ignore[no-any-return]  # msgpack is untyped
        except (ValueError, OverflowError) as exc:  # e.g. an int over 64 bits
            raise TypeError(f"Cannot serialize message with msgpack: {exc}") from exc

    def loads(self, data: bytes) -> dict[str, Any]:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)  # type: ignore[no-any-return]  # msgpack is untyped


class JSONSerializer:
    """UTF-8 JSON: readable in ``redis-cli``; no ``bytes`` values."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        def default(obj: object) -> Any:
            raise _unserializable(obj, "JSON")

        return json.dumps(message, separators=(",", ":"), default=default).encode()

    def loads(self, data: bytes) -> dict[str, Any]:
        result = json.loads(data)
        if not isinstance(result, dict):
            raise ValueError("channel layer payload did not decode to a dict")
        return result


class EncryptedSerializer:
    """Fernet-encrypts what ``inner`` produces; what sits in Redis is ciphertext.

    Keys may be any non-empty str or bytes; each is stretched with SHA-256
    into a Fernet key. The first key encrypts; every key decrypts, so you
    rotate by putting the new key first and dropping the old one later.
    """

    def __init__(self, inner: Serializer, keys: Sequence[str | bytes]) -> None:
        try:
            from cryptography.fernet import Fernet, MultiFernet
        except ImportError as exc:
            raise ImportError(
                "symmetric_encryption_keys needs the cryptography package: "
                'pip install "fast-channels[redis,cryptography]"'
            ) from exc
        if isinstance(keys, str | bytes) or not keys:
            raise TypeError("symmetric_encryption_keys must be a non-empty list of keys")
        fernets = []
        for key in keys:
            if not isinstance(key, str | bytes) or not key:
                raise TypeError(
                    f"each encryption key must be a non-empty str or bytes, got {key!r}"
                )
            raw = key.encode() if isinstance(key, str) else key
            fernets.append(Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest())))
        self._inner = inner
        self._fernet = MultiFernet(fernets)

    def dumps(self, message: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(self._inner.dumps(message))

    def loads(self, data: bytes) -> dict[str, Any]:
        return self._inner.loads(self._fernet.decrypt(data))


_BUILTIN: dict[str, type[MsgpackSerializer] | type[JSONSerializer]] = {
    "msgpack": MsgpackSerializer,
    "json": JSONSerializer,
}


def build_serializer(
    serializer: str | Serializer = "msgpack",
    symmetric_encryption_keys: Sequence[str | bytes] | None = None,
) -> Serializer:
    """Resolve the ``serializer=`` argument and wrap it in encryption if keys are given."""
    if isinstance(serializer, str):
        try:
            chosen: Serializer = _BUILTIN[serializer]()
        except KeyError:
            raise ValueError(
                f"Unknown serializer {serializer!r}: use 'msgpack', 'json' or an object "
                "with dumps(message) -> bytes and loads(bytes) -> dict"
            ) from None
    elif isinstance(serializer, Serializer):
        chosen = serializer
    else:
        raise TypeError(
            "serializer must be 'msgpack', 'json' or an object with dumps() and loads(), "
            f"got {type(serializer).__name__}"
        )
    if symmetric_encryption_keys:
        return EncryptedSerializer(chosen, symmetric_encryption_keys)
    return chosen


def decode_or_skip(serializer: Serializer, channel: str, payload: bytes) -> dict[str, Any] | None:
    """The message, or None (logged with its channel) if ``payload`` cannot be decoded.

    One bad message (sealed with another serializer, or a key rotated in the
    wrong order) must not cost the receiver the messages after it.
    """
    try:
        message = serializer.loads(payload)
    except Exception as exc:  # whatever the serializer or Fernet raise
        logger.error(
            "Skipped a message on channel %r that cannot be decoded (%s: %s): was it sent "
            "with another serializer or encryption key?",
            channel,
            type(exc).__name__,
            exc,
        )
        return None
    if not isinstance(message, dict):
        logger.error("Skipped a message on channel %r: it is not a dict", channel)
        return None
    return message
