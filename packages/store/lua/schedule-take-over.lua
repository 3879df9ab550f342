-- KEYS: state. ARGV: fire time ms, owner, lease-until ms, now ms. Takes over a pending fire whose lease ran out.
local field = 'pending:' .. ARGV[1]
local v = redis.call('HGET', KEYS[1], field)
if not v then return 0 end
if tonumber(string.match(v, ' (%d+)$')) > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], field, ARGV[2] .. ' ' .. ARGV[3])
return 1
