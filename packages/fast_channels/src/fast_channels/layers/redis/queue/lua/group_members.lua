-- KEYS: group. ARGV: named cutoff, local cutoff. Returns the live members.
return live_members(KEYS[1], ARGV[1], tonumber(ARGV[2]))
