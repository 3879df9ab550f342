--- @include allowed
--- @include events
--- @include dead-letter
--- @include stats
-- The task of a parked delivery (its handler failed WORKER_HANDLER_FAILURE_LIMIT times in a row)
-- ends `failed` with the given error and is dead-lettered, in one step, unless it is no longer
-- pending or running (cancelled, finished, or scheduled to run again meanwhile).
-- KEYS: record, events, dead letters, callbacks, stats.
-- ARGV: id, finished_at, ttl seconds, allowed-from list, key prefix, finished_at ms, error JSON.
-- Returns 'ok', 'missing', or the status that won.
local f = redis.call('HMGET', KEYS[1], 'status', 'queue', 'task')
local status = f[1]
if not status then return 'missing' end
if not allowed(status, ARGV[4]) then return status end
redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', ARGV[2], 'error', ARGV[7])
finalize(KEYS[1], KEYS[2], KEYS[4], 'failed', ARGV[2], ARGV[3])
dead_letter(KEYS[1], KEYS[3], 'failed', ARGV[7], ARGV[2])
note_final(ARGV[5], ARGV[1], f[2], f[3], 'failed', tonumber(ARGV[6]), status == 'running')
left_pending(ARGV[5], status, ARGV[1], f[2], f[3])
stats_and_lists_flush(KEYS[5])
return 'ok'
