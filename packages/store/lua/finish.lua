--- @include allowed
--- @include events
--- @include dead-letter
--- @include stats
-- Stores the final outcomes of tasks that finished together, each unless it was cancelled (or
-- otherwise finished) meanwhile; one that did not succeed is dead-lettered in the same step.
-- KEYS: dead letters, callbacks, stats, then per task: record, events.
-- ARGV: finished_at, ttl seconds, allowed-from list, key prefix, finished_at ms, then per task:
-- status, result (gzip bytes or ''), error JSON or '', dead-letter reason ('' = none).
-- Returns per task: 'ok', 'missing', or the status that won.
local at, ttl, from, prefix, at_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {}
for i = 1, (#KEYS - 3) / 2 do
  local task_key, events_key = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local status, result, err, reason = ARGV[4 * i + 2], ARGV[4 * i + 3], ARGV[4 * i + 4], ARGV[4 * i + 5]
  local f = redis.call('HMGET', task_key, 'status', 'watched', 'attempts', 'error', 'id', 'callback', 'queue', 'task', 'priority', 'started_at', 'eta', 'created_at')
  local current = f[1]
  if not current then
    out[i] = 'missing'
  elseif not allowed(current, from) then
    -- cancelled while it ran: its execution has ended now, the record stops saying `stopping`
    if current == 'cancelled' then redis.call('HDEL', task_key, 'stopping') end
    out[i] = current
  else
    if result ~= '' then redis.call('HSET', task_key, 'status', status, 'finished_at', at, 'result', result)
    elseif err ~= '' then redis.call('HSET', task_key, 'status', status, 'finished_at', at, 'error', err)
    else redis.call('HSET', task_key, 'status', status, 'finished_at', at) end
    finalize_read(task_key, events_key, KEYS[2], status, at, ttl, {f[2], f[3], err ~= '' and err or f[4], f[5], f[6]})
    if reason ~= '' then dead_letter(task_key, KEYS[1], reason, err, at) end
    -- f[2..6] are FINAL_FIELDS (events.lua); f[7..12]: queue, task, priority, started_at, eta, created_at
    note_final(prefix, f[5], f[7], f[8], status, at_ms, current == 'running')
    if current == 'running' then observe_run(f[7], f[8], f[9], f[10], f[11] ~= '' and f[11] or f[12], at_ms) end
    out[i] = 'ok'
  end
end
stats_and_lists_flush(KEYS[3])
return out
