--- @include events
-- Only a running task takes progress; watchers get it as an event.
-- KEYS: record, events. ARGV: progress JSON (an object), now ISO. Returns 1 if stored, else 0.
local f = redis.call('HMGET', KEYS[1], 'status', 'watched')
if f[1] ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[1])
if f[2] == '1' then emit(KEYS[1], KEYS[2], '{"type":"progress","at":"' .. ARGV[2] .. '",' .. string.sub(ARGV[1], 2)) end
return 1
