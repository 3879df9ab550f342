-- The entries numbered above `after`, oldest first, at most `count`.
-- KEYS: events list. ARGV: after seq, count.
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return {} end
local start = math.max(0, tonumber(ARGV[1]) + 1 - tonumber(string.match(first, '^%d+')))
return redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
