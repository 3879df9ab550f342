--- @include events
--- @include stats
-- Claims due scheduled tasks for publishing: their score moves to the lease end, so a dispatcher that
-- dies before publishing lets another one pick them up after the lease. A task that is no longer
-- scheduled (cancelled, expired) is dropped from the set. The due ids are only known inside the
-- script, so their record keys are built here from the prefix (keys.ts `task`, `events`).
-- A scheduled task claimed becomes `pending`, and joins its pending list (stats.lua).
-- KEYS: scheduled set. ARGV: now ms, lease-until ms, limit, task key prefix, now ISO, key prefix.
-- Returns id, queue, priority, task, trace_id per task, flat.
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(due) do
  local key = ARGV[4] .. id
  local f = redis.call('HMGET', key, 'status', 'queue', 'priority', 'task', 'trace_id')
  if f[1] == 'scheduled' or f[1] == 'pending' then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    if f[1] == 'scheduled' then
      redis.call('HSET', key, 'status', 'pending')
      emit_status(key, key .. ':events', 'pending', ARGV[5])
      zset_later('ZADD', pending_key(ARGV[6], f[2], f[4]), 0, id)
    end
    table.insert(out, id); table.insert(out, f[2]); table.insert(out, f[3]); table.insert(out, f[4]); table.insert(out, f[5])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
zset_flush()
return out
