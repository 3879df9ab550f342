--- @include allowed
--- @include events
--- @include dead-letter
-- Stores the final outcomes of tasks that finished together, each unless it was cancelled (or
-- otherwise finished) meanwhile; one that did not succeed is dead-lettered in the same step.
-- KEYS: dead letters, callbacks, then per task: record, events.
-- ARGV: finished_at, ttl seconds, allowed-from list, then per task: status, result (gzip bytes or
-- ''), error JSON or '', dead-letter reason ('' = none).
-- Returns per task: 'ok', 'missing', or the status that won.
local at, ttl, from = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 1, (#KEYS - 2) / 2 do
  local task_key, events_key = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local status, result, err, reason = ARGV[4 * i], ARGV[4 * i + 1], ARGV[4 * i + 2], ARGV[4 * i + 3]
  local f = redis.call('HMGET', task_key, 'status', unpack(FINAL_FIELDS))
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
    out[i] = 'ok'
  end
end
return out
