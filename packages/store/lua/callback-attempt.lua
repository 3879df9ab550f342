-- Records one delivery attempt on the record's callback and schedules the next one or forgets it.
-- KEYS: record, callbacks. ARGV: id, state (pending | delivered | failed), last status ('' = none),
-- last error ('' = none), next attempt ms (for pending).
local raw = redis.call('HGET', KEYS[1], 'callback')
if not raw or raw == '' then redis.call('ZREM', KEYS[2], ARGV[1]); return 'missing' end
local cb = cjson.decode(raw)
cb.attempts = (cb.attempts or 0) + 1
cb.state = ARGV[2]
cb.last_status = ARGV[3] ~= '' and tonumber(ARGV[3]) or cjson.null
cb.last_error = ARGV[4] ~= '' and ARGV[4] or cjson.null
redis.call('HSET', KEYS[1], 'callback', cjson.encode(cb))
if ARGV[2] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
return 'ok'
