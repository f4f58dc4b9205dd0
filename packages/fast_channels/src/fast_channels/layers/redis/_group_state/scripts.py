"""Key layout and Lua scripts of presence and history, shared by both Redis layers.

Keys (``P`` is the layer prefix, ``G`` the group), all from :func:`group_keys`:

- ``P:p:G``: hash ``channel -> "<asserted at ms>:<description JSON>"`` (presence);
- ``P:hm:{G}``: hash ``e`` (epoch), ``o`` (last offset) of the group's history;
- ``P:hs:{G}``: stream of the kept messages, entry id ``0-<offset>``.

The ``{G}`` hash tag keeps a group's two history keys in one Redis Cluster slot,
so the scripts that touch both stay valid there. A group's keys live on the
shard of the group's name, like its membership set. Lua sources are in ``lua/``;
each file's header says its KEYS and ARGV.
"""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

from ..queue.scripts import Script


class GroupKeys(NamedTuple):
    presence: str
    meta: str
    stream: str


def group_keys(prefix: str, group: str, tagged: bool = False) -> GroupKeys:
    """Every key of ``group``'s presence and history (``tagged``: all in one cluster slot)."""
    presence = f"{prefix}:p:{{{group}}}" if tagged else f"{prefix}:p:{group}"
    return GroupKeys(presence, f"{prefix}:hm:{{{group}}}", f"{prefix}:hs:{{{group}}}")


def _load(name: str, *, history: bool = False, queue_libs: tuple[str, ...] = ()) -> Script:
    """``lua/<name>.lua`` after the queue layer's ``lib_*`` files it needs and ours."""
    queue_lua = resources.files("fast_channels.layers.redis.queue") / "lua"
    own_lua = resources.files(__package__) / "lua"
    parts = [(queue_lua / f"lib_{lib}.lua").read_text() for lib in queue_libs]
    if history:
        parts.append((own_lua / "lib_history.lua").read_text())
    parts.append((own_lua / f"{name}.lua").read_text())
    return Script("\n".join(parts))


PRESENCE_ADD = _load("presence_add", queue_libs=("time",))
PRESENCE_LIST = _load("presence_list", queue_libs=("time",))
HISTORY_READ = _load("history_read", queue_libs=("time",))
HISTORY_GROUP_SEND = _load(
    "history_group_send", history=True, queue_libs=("time", "push", "members")
)
HISTORY_MEMBERS = _load("history_members", history=True, queue_libs=("time", "members"))
HISTORY_PUBLISH = _load("history_publish", history=True, queue_libs=("time",))
