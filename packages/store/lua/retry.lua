--- @include allowed
--- @include events
--- @include stats
-- A failed attempt that will be retried: `scheduled` until its eta, the last error kept.
-- KEYS: record, events, scheduled set, stats. ARGV: eta ISO, eta ms, error JSON, allowed-from list,
-- id, now ISO, key prefix.
-- Returns 'ok', 'missing', or the status that won.
local f = redis.call('HMGET', KEYS[1], 'status', 'queue', 'task')
local status = f[1]
if not status then return 'missing' end
if not allowed(status, ARGV[4]) then return status end
redis.call('HSET', KEYS[1], 'status', 'scheduled', 'eta', ARGV[1], 'error', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
emit_status(KEYS[1], KEYS[2], 'scheduled', ARGV[6])
stats_count('n|' .. f[2] .. '|' .. f[3] .. '|retried')
if status == 'running' then zset_later('ZREM', running_key(ARGV[7], f[2]), ARGV[5]) end
left_pending(ARGV[7], status, ARGV[5], f[2], f[3])
stats_and_lists_flush(KEYS[4])
return 'ok'
