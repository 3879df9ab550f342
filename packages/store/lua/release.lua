--- @include events
--- @include stats
-- A worker shutting down hands a running task back: the interrupted attempt is not counted, so a
-- deploy never pushes a task towards the poison limit (WORKER_LOST). A task whose message is still
-- unacked goes back to `pending` (the requeued message runs it); one acked at start (leased) is
-- rescheduled for now, so the dispatcher publishes it again. Only the worker running it may do this.
-- KEYS: record, events, scheduled set, stats. ARGV: worker, reschedule ('1' | ''), now ms, now ISO, id,
-- key prefix.
local f = redis.call('HMGET', KEYS[1], 'status', 'worker', 'queue', 'task')
if not f[1] then return 'missing' end
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return f[1] end
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'eta', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
  emit_status(KEYS[1], KEYS[2], 'scheduled', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'status', 'pending')
  emit_status(KEYS[1], KEYS[2], 'pending', ARGV[4])
  zset_later('ZADD', pending_key(ARGV[6], f[3], f[4]), 0, ARGV[5])
end
stats_count('n|' .. f[3] .. '|' .. f[4] .. '|released')
zset_later('ZREM', running_key(ARGV[6], f[3]), ARGV[5])
stats_and_lists_flush(KEYS[4])
return 'ok'
