-- KEYS: state. ARGV: fire time ms, task id ('' = none), fired_at ISO, error JSON ('' = none).
-- Ends a fire: drops its pending claim and makes it the last run unless a later one already is.
-- Only for an existing schedule (a deleted one keeps no state).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'pending:' .. ARGV[1])
if tonumber(ARGV[1]) >= tonumber(redis.call('HGET', KEYS[1], 'last_fire_at') or '0') then
  redis.call('HSET', KEYS[1], 'last_fire_at', ARGV[1], 'last_task_id', ARGV[2], 'last_fired_at', ARGV[3], 'last_error', ARGV[4])
end
return 1
