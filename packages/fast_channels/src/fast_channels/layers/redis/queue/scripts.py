"""Redis key layout and the Lua scripts of the queue layer.

Keys (``P`` is the layer prefix):

- ``P:c:<channel>``: list of messages for a named channel, newest on the left;
- ``P:i:<name!>``: the inbox list shared by every process-local channel
  ``name!...`` of one process (one reader per process drains it);
- ``P:n:<name!>``: hash ``channel -> messages sent but not yet received`` for
  those process-local channels (their capacity check), and ``#channel -> when
  the newest of them expires``, after which a count left high by a lost
  receipt is known to be stale and reset;
- ``P:g:<group>``: sorted set ``channel -> last time asserted (ms, server clock)``.

On a Redis Cluster every name is a hash tag (``P:c:{<channel>}``, ``P:i:{<name!>}``,
``P:n:{<name!>}``, ``P:g:{<group>}``): a script only touches keys of one slot,
and a group's keys (with its presence and history) share the group's slot.

Every list entry is ``b"<deadline ms>:<channel>:" + payload``; nothing is
delivered after its deadline. Each script is one round trip; ``group_send``
is one script per shard whatever the group size. Scripts read the server's
clock (``TIME``), never the caller's, for membership and capacity decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.exceptions import NoScriptError

from ...naming import is_process_local, non_local_name
from .._transport.pipe import Arg, ShardPipe, pack
from .._transport.slots import tag


def queue_keys(prefix: str, channel: str, tagged: bool = False) -> tuple[str, str]:
    """(list key, count-hash key or ``""``) that hold ``channel``'s messages.

    ``tagged`` (a Redis Cluster) wraps the name in a hash tag, so an inbox's
    two keys share a slot; single servers keep the names they always had.
    """
    if is_process_local(channel):
        inbox = non_local_name(channel)
        if tagged:
            inbox = tag(inbox)
        return f"{prefix}:i:{inbox}", f"{prefix}:n:{inbox}"
    return f"{prefix}:c:{tag(channel) if tagged else channel}", ""


def group_key(prefix: str, group: str, tagged: bool = False) -> str:
    """The group's membership set (``tagged``: in the slot of the group's other keys)."""
    return f"{prefix}:g:{tag(group) if tagged else group}"


def parse_entry(entry: bytes) -> tuple[int, str, bytes]:
    """Split a list entry into (deadline ms, channel, payload)."""
    deadline, _, rest = entry.partition(b":")
    channel, _, payload = rest.partition(b":")
    return int(deadline), channel.decode(), payload


class Script:
    """A Lua script run by SHA, re-sent in full when the server lost its cache.

    The sources live in ``lua/``; each file's header says its KEYS and ARGV.
    """

    @classmethod
    def load(cls, name: str, libs: Sequence[str] = ()) -> Script:
        """The script in ``lua/<name>.lua``, after the shared ``lua/lib_<lib>.lua`` files."""
        folder = resources.files(__package__) / "lua"
        parts = [(folder / f"lib_{lib}.lua").read_text() for lib in libs]
        parts.append((folder / f"{name}.lua").read_text())
        return cls("\n".join(parts))

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self._sha = self.sha.encode()

    async def batch(
        self, pipe: ShardPipe, calls: Sequence[tuple[Sequence[str], Sequence[Arg]]]
    ) -> list[Any]:
        """Run the script once per ``(keys, args)`` on ``pipe``'s node, in one write.

        Returns each run's reply or exception, in order; runs the server had no
        script for are sent again in full, together, in a second write.
        """
        if not calls:
            return []
        results = await pipe.call_batch(
            [pack(b"EVALSHA", self._sha, len(keys), *keys, *args) for keys, args in calls]
        )
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            again = await pipe.call_batch(
                [
                    pack(b"EVAL", self.source, len(calls[i][0]), *calls[i][0], *calls[i][1])
                    for i in missing
                ]
            )
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        return results

    async def __call__(self, pipe: ShardPipe, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run the script on ``pipe``'s shard; one round trip unless the server forgot it."""
        try:
            return await pipe.call(pack(b"EVALSHA", self._sha, len(keys), *keys, *args))
        except NoScriptError:  # a restarted or failed-over server forgets scripts
            return await pipe.call(pack(b"EVAL", self.source, len(keys), *keys, *args))


#: Shared Lua, prepended by the scripts that need it: ``lua/lib_time.lua`` (the
#: server clock), ``lua/lib_push.lua`` (the capacity check and the push of one
#: entry) and ``lua/lib_members.lua`` (the live members of a group).
SEND = Script.load("send", libs=("time", "push"))
GROUP_SEND = Script.load("group_send", libs=("time", "push", "members"))
GROUP_MEMBERS = Script.load("group_members", libs=("time", "members"))
PUSH_SLOT = Script.load("push_slot", libs=("time", "push"))
GROUP_ADD = Script.load("group_add", libs=("time",))
UNCOUNT = Script.load("uncount")
GIVE_BACK = Script.load("give_back")
