"""Presence: who is in a group, with a small description each (the shared contract).

A channel is *present* in a group with a JSON-safe description (``{"user":
"alice"}``). Anyone can ask a layer who is present, across every process;
:meth:`PresenceLayer.presence_add` can announce the arrival to the group as an
ordinary message (``presence.join``), and :meth:`PresenceLayer.presence_discard`
the departure (``presence.leave``).

Each backend implements the three methods in its own module: the memory layer in
:mod:`.memory_groups`, the Redis layers in ``redis/_group_state/presence.py``.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import MessageTooLarge

#: Bytes a presence description may take as compact JSON. Presence is read whole
#: on every query, so descriptions are meant to be an id and a display name.
MAX_INFO_BYTES = 1024
#: Type of the message :meth:`PresenceLayer.presence_add` sends with ``announce=True``.
JOIN_TYPE = "presence.join"
#: Type of the message :meth:`PresenceLayer.presence_discard` sends with ``announce=True``.
LEAVE_TYPE = "presence.leave"

PresenceInfo = dict[str, Any]


def encode_info(info: Mapping[str, Any] | None) -> str:
    """Validate a presence description and return it as compact JSON.

    Raises ``TypeError`` for anything but a JSON-safe dict with str keys and
    :class:`~fast_channels.exceptions.MessageTooLarge` past :data:`MAX_INFO_BYTES`.
    """
    if info is None:
        return "{}"
    if not isinstance(info, Mapping):
        raise TypeError(f"a presence description must be a dict, got {type(info).__name__}")
    try:
        text = json.dumps(dict(info), separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"a presence description must be JSON-safe (str keys; str, numbers, bool, None, "
            f"lists, dicts): {exc}"
        ) from exc
    size = len(text.encode())
    if size > MAX_INFO_BYTES:
        raise MessageTooLarge(
            f"presence description is {size} bytes as JSON, more than {MAX_INFO_BYTES}: "
            "keep it to ids and display names and look the rest up elsewhere."
        )
    return text


def decode_info(text: str | bytes) -> PresenceInfo:
    """The description stored by :func:`encode_info`."""
    value: PresenceInfo = json.loads(text)
    return value


def decode_infos(texts: Sequence[str | bytes]) -> list[PresenceInfo]:
    """Many descriptions stored by :func:`encode_info`, parsed in one ``json.loads``.

    A presence list is read whole on every query: one parse of ``[a,b,...]`` costs a
    fraction of one parse per member (measured in ``bench/group_state.py``).
    """
    if not texts:
        return []
    joined = b",".join(t.encode() if isinstance(t, str) else bytes(t) for t in texts)
    values: list[PresenceInfo] = json.loads(b"[" + joined + b"]")
    return values


def presence_event(kind: str, group: str, channel: str, info: str) -> dict[str, Any]:
    """The ``presence.join`` / ``presence.leave`` message sent to ``group``."""
    return {"type": kind, "group": group, "channel": channel, "info": decode_info(info)}


class PresenceLayer(abc.ABC):
    """The presence capability every built-in layer implements.

    Presence is separate from membership: a channel can be present without
    receiving the group's messages and the other way round. The consumer
    attribute ``presence_groups`` does both (see :class:`~fast_channels.consumer.AsyncConsumer`).

    **When presence ends.** At :meth:`presence_discard`, at the layer's
    ``close()``/``flush()``, and for a process that died without either, once
    its entries go unrefreshed: after ``member_timeout`` (10 s by default) on the
    Redis queue layer, :attr:`presence_timeout` on the pub/sub layer. After
    Redis restarts empty, each process re-asserts its live presences within one
    heartbeat (2 s by default). Nobody announces a dead process's departure.
    """

    @abc.abstractmethod
    async def presence_add(
        self,
        group: str,
        channel: str,
        info: Mapping[str, Any] | None = None,
        *,
        announce: bool = False,
    ) -> None:
        """Mark ``channel`` present in ``group`` with ``info``; replaces an earlier entry.

        With ``announce=True``, also send ``{"type": "presence.join", "group",
        "channel", "info"}`` to the group (a handler ``presence_join`` gets it).
        """

    @abc.abstractmethod
    async def presence_discard(self, group: str, channel: str, *, announce: bool = False) -> None:
        """End ``channel``'s presence in ``group``; a no-op when it is not present.

        With ``announce=True`` and an entry to remove, send ``presence.leave``.
        """

    @abc.abstractmethod
    async def presence(self, group: str) -> dict[str, PresenceInfo]:
        """Who is present in ``group`` in any process: ``{channel: info}``.

        One round trip to the shard that holds the group.
        """
