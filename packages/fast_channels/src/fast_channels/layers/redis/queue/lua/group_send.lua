-- KEYS: group. ARGV: now, named cutoff, local cutoff, prefix, capacity, ttl, deadline,
-- payload. Returns {members, skipped because full}.
local now, cap, ttl = tonumber(ARGV[1]), tonumber(ARGV[5]), ARGV[6]
local members = live_members(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
local skipped = 0
for _, channel in ipairs(members) do
  local qkey, hkey = keys_for(ARGV[4], channel)
  local entry = ARGV[7] .. ':' .. channel .. ':' .. ARGV[8]
  if push(qkey, hkey, channel, cap, entry, ttl, now) == 0 then skipped = skipped + 1 end
end
return {#members, skipped}
