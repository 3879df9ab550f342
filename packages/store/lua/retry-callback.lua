-- A callback that failed (all its attempts used) is delivered again from now, with a fresh count of
-- attempts. KEYS: record, callbacks. ARGV: id, now ms.
-- Returns 'ok', 'missing', 'none' (no callback_url), or the callback's state when it is not failed.
local f = redis.call('HMGET', KEYS[1], 'status', 'callback')
if not f[1] then return 'missing' end
if not f[2] or f[2] == '' then return 'none' end
local cb = cjson.decode(f[2])
if cb.state ~= 'failed' then return cb.state end
cb.state = 'pending'
cb.attempts = 0
redis.call('HSET', KEYS[1], 'callback', cjson.encode(cb))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 'ok'
