--- @include allowed
--- @include events
--- @include dead-letter
--- @include stats
-- Claims tasks whose deliveries arrived together: each becomes `running` unless it may not start
-- (missing, finished, cancelled, or a duplicate of a running one). One call for the whole batch.
-- A task past its `expires` (ms; the field is absent without one) that has not started is not run:
-- it ends `expired` here, in the same step.
-- KEYS: dead letters, callbacks, stats, then per task: record, events.
-- ARGV: worker, started_at, allowed-from list, ttl seconds, now (ms), key prefix, then per task:
-- redelivered ('1' | '').
-- A redelivered `running` task means its worker died mid-run: it runs again, unless it has already
-- used all its attempts (max_retries + 1) - then it is a poison task that keeps killing workers, and
-- ends `failed` (WORKER_LOST) and dead-lettered instead of crash-looping.
-- Returns per task: {'started', attempts, input, time_limit, soft_time_limit, max_retries,
-- retry_on_timeout, metadata} | {'skip', status} | {'lost', attempts} | {'expired'} | {'missing'}.
local worker, at, from, ttl, now, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local out = {}
for i = 1, (#KEYS - 3) / 2 do
  local task_key, events_key, redelivered = KEYS[2 + 2 * i], KEYS[3 + 2 * i], ARGV[6 + i] == '1'
  local f = redis.call('HMGET', task_key, 'status', 'attempts', 'max_retries', 'watched', 'input', 'time_limit', 'soft_time_limit', 'retry_on_timeout', 'expires', 'id', 'queue', 'task', 'metadata')
  local status, used, max = f[1], tonumber(f[2] or '0'), tonumber(f[3] or '0')
  if not status then
    out[i] = {'missing'}
  elseif (status == 'running' and not redelivered) or not allowed(status, from) then
    out[i] = {'skip', status}
  elseif status == 'running' and used >= max + 1 then
    lose(task_key, events_key, KEYS[2], KEYS[1], used, 'died', at, ttl)
    note_final(prefix, f[10], f[11], f[12], 'failed', now, true)
    out[i] = {'lost', tostring(used)}
  elseif f[9] and status ~= 'running' and tonumber(f[9]) <= now then
    redis.call('HSET', task_key, 'status', 'expired', 'finished_at', at)
    left_pending(prefix, status, f[10], f[11], f[12])
    finalize(task_key, events_key, KEYS[2], 'expired', at, ttl)
    note_final(prefix, f[10], f[11], f[12], 'expired', now, false)
    out[i] = {'expired'}
  else
    local attempts = used + 1
    redis.call('HSET', task_key, 'status', 'running', 'worker', worker, 'started_at', at, 'attempts', attempts)
    if f[4] == '1' then emit(task_key, events_key, status_event('running', at, attempts)) end
    stats_count('n|' .. f[11] .. '|' .. f[12] .. '|started')
    if status == 'running' then stats_count('n|' .. f[11] .. '|' .. f[12] .. '|restarted') end
    zset_later('ZADD', running_key(prefix, f[11]), now, f[10])
    left_pending(prefix, status, f[10], f[11], f[12])
    out[i] = {'started', tostring(attempts), f[5] or 'null', f[6] or '', f[7] or '', f[3] or '0', f[8] or '', f[13] or ''}
  end
end
stats_and_lists_flush(KEYS[3])
return out
