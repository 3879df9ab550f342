--- @include events
--- @include dead-letter
--- @include stats
-- Tasks acked at start (longer than RabbitMQ's consumer_timeout allows) are guarded by a lease their
-- worker renews. A lease that ran out means the worker died: the task is rescheduled for now, or, if
-- it has used all its attempts, it ends `failed` (WORKER_LOST) and is dead-lettered, as a redelivery
-- would. The expired ids are only known inside the script, so their record keys are built here
-- from the prefix (keys.ts `task`, `events`), as are the lists of stats.lua.
-- KEYS: leases, scheduled set, dead letters, callbacks, stats.
-- ARGV: now ms, limit, task key prefix, now ISO, ttl seconds, key prefix. Returns {rescheduled ids, lost ids}.
local expired = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local rescheduled, lost = {}, {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[3] .. id
  local events_key = key .. ':events'
  local f = redis.call('HMGET', key, 'status', 'attempts', 'max_retries', 'queue', 'task')
  if f[1] == 'running' then
    local used = tonumber(f[2] or '0')
    if used >= tonumber(f[3] or '0') + 1 then
      lose(key, events_key, KEYS[4], KEYS[3], used, 'stopped renewing its lease', ARGV[4], ARGV[5])
      note_final(ARGV[6], id, f[4], f[5], 'failed', tonumber(ARGV[1]), true)
      table.insert(lost, id)
    else
      redis.call('HSET', key, 'status', 'scheduled', 'eta', ARGV[4])
      redis.call('ZADD', KEYS[2], ARGV[1], id)
      emit_status(key, events_key, 'scheduled', ARGV[4])
      stats_count('n|' .. f[4] .. '|' .. f[5] .. '|released')
      zset_later('ZREM', running_key(ARGV[6], f[4]), id)
      table.insert(rescheduled, id)
    end
  end
end
stats_and_lists_flush(KEYS[5])
return {rescheduled, lost}
