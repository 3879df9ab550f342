-- Claims due callbacks for delivery: their score moves to the lease end, so a worker that dies
-- mid-delivery lets another one retry after the lease. Any number of workers may deliver at once.
-- KEYS: callbacks. ARGV: now ms, lease-until ms, limit.
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
