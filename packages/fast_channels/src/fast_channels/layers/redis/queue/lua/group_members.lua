-- KEYS: group. ARGV: group expiry ms, member timeout ms. Returns the live members.
return live_members(KEYS[1], server_ms(), tonumber(ARGV[1]), tonumber(ARGV[2]))
