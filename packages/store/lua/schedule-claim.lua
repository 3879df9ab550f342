-- KEYS: state. ARGV: version read, cursor read, new cursor, owner, lease-until ms, fire times ms...
-- Decides the fires between the cursor read and the new cursor: refused ('stale') when the
-- definition changed or another beat moved the cursor since the read, or ('paused') when paused.
local st = redis.call('HMGET', KEYS[1], 'version', 'cursor', 'paused')
if st[1] ~= ARGV[1] or st[2] ~= ARGV[2] then return 'stale' end
if st[3] == '1' then return 'paused' end
redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
for i = 6, #ARGV do redis.call('HSET', KEYS[1], 'pending:' .. ARGV[i], ARGV[4] .. ' ' .. ARGV[5]) end
return 'ok'
