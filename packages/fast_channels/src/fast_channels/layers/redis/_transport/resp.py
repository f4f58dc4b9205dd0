"""RESP encoding of the commands the pipes send (re-exported by :mod:`.pipe`).

These cover the few argument types the layers send, in one ``b"".join``;
redis-py's ``pack_command`` also handles types and chunking the layers never
need. A pipe writes a command whole, so it must be one ``bytes`` object.
"""

from __future__ import annotations

from typing import NamedTuple


class Packed(NamedTuple):
    """``items`` arguments already encoded as RESP bulk strings, spliced in as they are.

    For commands with thousands of similar arguments (a cluster ``group_send``'s
    members), built once per member instead of once per argument.
    """

    data: bytes
    items: int


Arg = bytes | str | int | float | Packed


def bulk(data: bytes) -> bytes:
    """One RESP bulk string (to build a :class:`Packed`)."""
    return b"$%d\r\n%b\r\n" % (len(data), data)


def pack(*args: Arg) -> bytes:
    """The RESP encoding of one command (``pack(b"GET", "key")``)."""
    parts = [b""]
    count = len(args)
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, bool):  # a bool is an int: refuse it like redis-py does
            raise TypeError(f"cannot send a bool to Redis: {arg!r}")
        elif isinstance(arg, int):
            data = b"%d" % arg
        elif isinstance(arg, float):
            data = repr(arg).encode()
        elif isinstance(arg, Packed):
            parts.append(arg.data)
            count += arg.items - 1
            continue
        else:
            raise TypeError(f"cannot send a {type(arg).__name__} to Redis: {arg!r}")
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    parts[0] = b"*%d\r\n" % count
    return b"".join(parts)


def pack_publish(name: bytes, payload: bytes) -> bytes:
    """The RESP encoding of ``PUBLISH name payload`` (the pub/sub hot path, unrolled)."""
    return b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        len(name),
        name,
        len(payload),
        payload,
    )


def pack_spublish(name: bytes, payload: bytes) -> bytes:
    """The RESP encoding of ``SPUBLISH name payload`` (sharded pub/sub on a cluster)."""
    return b"*3\r\n$8\r\nSPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        len(name),
        name,
        len(payload),
        payload,
    )
