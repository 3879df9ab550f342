-- KEYS: definitions, state. ARGV: name, definition JSON, mode, now ms, expected version ('' = any).
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if ARGV[3] == 'create' and exists then return -1 end
if ARGV[3] == 'replace' and not exists then return -2 end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[2], 'version') ~= ARGV[5] then return -3 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HEXISTS', KEYS[2], 'cursor') == 0 then redis.call('HSET', KEYS[2], 'cursor', ARGV[4]) end
return redis.call('HINCRBY', KEYS[2], 'version', 1)
