-- KEYS: group. ARGV: group expiry ms, member timeout ms. Returns the live members
-- in one string, separated by newlines (never part of a channel name): one reply
-- to parse instead of one per member.
return table.concat(live_members(KEYS[1], server_ms(), tonumber(ARGV[1]), tonumber(ARGV[2])), '\n')
