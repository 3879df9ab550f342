--- @include allowed
--- @include events
-- A failed attempt that will be retried: `scheduled` until its eta, the last error kept.
-- KEYS: record, events, scheduled set. ARGV: eta ISO, eta ms, error JSON, allowed-from list, id, now ISO.
-- Returns 'ok', 'missing', or the status that won.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if not allowed(status, ARGV[4]) then return status end
redis.call('HSET', KEYS[1], 'status', 'scheduled', 'eta', ARGV[1], 'error', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
emit_status(KEYS[1], KEYS[2], 'scheduled', ARGV[6])
return 'ok'
