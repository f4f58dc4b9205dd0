-- The queue layer's group_send to a resumable group whose members live on other
-- shards: store in history and read the live members in one step on the group's
-- shard; the caller pushes to the members' shards.
-- KEYS: group, meta, stream. ARGV: (unused), group expiry ms, member timeout ms, group name,
-- epoch candidate, size, age ms, payload. Returns {stamped payload, members...}.
local now = server_ms()
local stamped = history_append(KEYS[2], KEYS[3], ARGV[4], ARGV[5], now,
  ARGV[6], tonumber(ARGV[7]), ARGV[8])
local members = live_members(KEYS[1], now, tonumber(ARGV[2]), tonumber(ARGV[3]))
table.insert(members, 1, stamped)
return members
