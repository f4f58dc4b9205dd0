-- KEYS: group. ARGV: group expiry ms, member timeout ms, prefix, capacity, ttl,
-- deadline, payload. Returns {members, skipped because full}.
local now, cap, ttl = server_ms(), tonumber(ARGV[4]), ARGV[5]
local members = live_members(KEYS[1], now, tonumber(ARGV[1]), tonumber(ARGV[2]))
local skipped = 0
for _, channel in ipairs(members) do
  local qkey, hkey = keys_for(ARGV[3], channel)
  local entry = ARGV[6] .. ':' .. channel .. ':' .. ARGV[7]
  if push(qkey, hkey, channel, cap, entry, ttl, now) == 0 then skipped = skipped + 1 end
end
return {#members, skipped}
