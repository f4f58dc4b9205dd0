"""Redis key layout and the Lua scripts of the queue layer.

Keys (``P`` is the layer prefix):

- ``P:c:<channel>``: list of messages for a named channel, newest on the left;
- ``P:i:<name!>``: the inbox list shared by every process-local channel
  ``name!...`` of one process (one reader per process drains it);
- ``P:n:<name!>``: hash ``channel -> messages sent but not yet received`` for
  those process-local channels (their capacity check);
- ``P:g:<group>``: sorted set ``channel -> last time asserted (ms)``.

Every list entry is ``b"<deadline ms>:<channel>:" + payload``; nothing is
delivered after its deadline. Each script is one round trip; ``group_send``
is one script per shard whatever the group size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from ..naming import is_process_local, non_local_name
from .pipe import Arg, ShardPipe, pack


def queue_keys(prefix: str, channel: str) -> tuple[str, str]:
    """(list key, count-hash key or ``""``) that hold ``channel``'s messages."""
    if is_process_local(channel):
        inbox = non_local_name(channel)
        return f"{prefix}:i:{inbox}", f"{prefix}:n:{inbox}"
    return f"{prefix}:c:{channel}", ""


def group_key(prefix: str, group: str) -> str:
    return f"{prefix}:g:{group}"


def parse_entry(entry: bytes) -> tuple[int, str, bytes]:
    """Split a list entry into (deadline ms, channel, payload)."""
    deadline, _, rest = entry.partition(b":")
    channel, _, payload = rest.partition(b":")
    return int(deadline), channel.decode(), payload


class Script:
    """A Lua script run by SHA, re-sent in full when the server lost its cache."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self._sha = self.sha.encode()

    async def __call__(self, pipe: ShardPipe, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run the script on ``pipe``'s shard; one round trip unless the server forgot it."""
        try:
            return await pipe.call(pack(b"EVALSHA", self._sha, len(keys), *keys, *args))
        except NoScriptError:  # a restarted or failed-over server forgets scripts
            return await pipe.call(pack(b"EVAL", self.source, len(keys), *keys, *args))


# Shared Lua: capacity check (skipping expired heads) and push of one entry.
_PUSH = """
local function is_full(qkey, hkey, channel, cap, now)
  if hkey ~= '' then
    return tonumber(redis.call('HGET', hkey, channel) or '0') >= cap
  end
  local n = redis.call('LLEN', qkey)
  while n >= cap do
    local oldest = redis.call('LINDEX', qkey, -1)
    local deadline = tonumber(string.match(oldest or '', '^(%d+):'))
    if deadline == nil or deadline >= now then return true end
    redis.call('RPOP', qkey)
    n = n - 1
  end
  return false
end

local function push(qkey, hkey, channel, cap, entry, ttl, now)
  if is_full(qkey, hkey, channel, cap, now) then return 0 end
  if hkey ~= '' then
    redis.call('HINCRBY', hkey, channel, 1)
    redis.call('PEXPIRE', hkey, ttl)
  end
  redis.call('LPUSH', qkey, entry)
  redis.call('PEXPIRE', qkey, ttl)
  return 1
end

local function keys_for(prefix, channel)
  local inbox = string.match(channel, '^[^!]*!')
  if inbox then return prefix .. ':i:' .. inbox, prefix .. ':n:' .. inbox end
  return prefix .. ':c:' .. channel, ''
end
"""

# Live members of a group: drop expired named members and local members whose
# process stopped its heartbeat.
_MEMBERS = """
local function live_members(gkey, named_cutoff, local_cutoff)
  redis.call('ZREMRANGEBYSCORE', gkey, '-inf', '(' .. named_cutoff)
  local rows = redis.call('ZRANGE', gkey, 0, -1, 'WITHSCORES')
  local alive = {}
  for i = 1, #rows, 2 do
    local channel = rows[i]
    if string.find(channel, '!', 1, true) and tonumber(rows[i + 1]) < local_cutoff then
      redis.call('ZREM', gkey, channel)
    else
      alive[#alive + 1] = channel
    end
  end
  return alive
end
"""

#: KEYS: list key, count-hash key or "". ARGV: entry, capacity, ttl ms, now ms, channel.
SEND = Script(
    _PUSH
    + """
return push(KEYS[1], KEYS[2], ARGV[5], tonumber(ARGV[2]), ARGV[1], ARGV[3], tonumber(ARGV[4]))
"""
)

#: KEYS: group. ARGV: now, named cutoff, local cutoff, prefix, capacity, ttl, deadline,
#: payload. Returns {members, skipped because full}.
GROUP_SEND = Script(
    _PUSH
    + _MEMBERS
    + """
local now, cap, ttl = tonumber(ARGV[1]), tonumber(ARGV[5]), ARGV[6]
local members = live_members(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
local skipped = 0
for _, channel in ipairs(members) do
  local qkey, hkey = keys_for(ARGV[4], channel)
  local entry = ARGV[7] .. ':' .. channel .. ':' .. ARGV[8]
  if push(qkey, hkey, channel, cap, entry, ttl, now) == 0 then skipped = skipped + 1 end
end
return {#members, skipped}
"""
)

#: KEYS: group. ARGV: named cutoff, local cutoff. Returns the live members.
GROUP_MEMBERS = Script(_MEMBERS + "return live_members(KEYS[1], ARGV[1], tonumber(ARGV[2]))\n")

#: ARGV: now, prefix, ttl, deadline, payload, then (channel, capacity) pairs.
#: Returns the number skipped because full.
PUSH_MANY = Script(
    _PUSH
    + """
local now, ttl, skipped = tonumber(ARGV[1]), ARGV[3], 0
for i = 6, #ARGV, 2 do
  local channel = ARGV[i]
  local qkey, hkey = keys_for(ARGV[2], channel)
  local entry = ARGV[4] .. ':' .. channel .. ':' .. ARGV[5]
  if push(qkey, hkey, channel, tonumber(ARGV[i + 1]), entry, ttl, now) == 0 then
    skipped = skipped + 1
  end
end
return skipped
"""
)

#: KEYS: group keys; ARGV: now, ttl ms, then one channel per key. Adds or
#: re-asserts each (group, channel) membership.
GROUP_ADD = Script(
    """
for i, gkey in ipairs(KEYS) do
  redis.call('ZADD', gkey, ARGV[1], ARGV[i + 2])
  redis.call('PEXPIRE', gkey, ARGV[2])
end
return #KEYS
"""
)

#: KEYS: count hash. ARGV: (channel, n) pairs. Received messages no longer count
#: against capacity; never below zero (a restarted server starts from nothing).
UNCOUNT = Script(
    """
for i = 1, #ARGV, 2 do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 0
"""
)
