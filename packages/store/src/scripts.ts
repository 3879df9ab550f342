/**
 * Lua scripts: each status change is one atomic round trip that checks the current status first,
 * so a finished task never changes again and a cancelled task never starts. The allowed "from"
 * statuses are passed in from the status machine in @celerity/core rather than repeated here.
 */
const IS_ALLOWED = `
local function allowed(status, list) return string.find(',' .. list .. ',', ',' .. status .. ',', 1, true) ~= nil end
`;

/** How many of its latest events a task keeps for watchers that resume (Last-Event-ID). */
export const EVENTS_KEPT = 1_000;

/**
 * Events of one task, for SSE and WebSocket watchers. Each is numbered (the record's `event_seq`: 1,
 * 2, 3 … per task, the SSE id), appended as "<seq> <json>" to a capped list (so a watcher can resume
 * after the last event it saw) and published on a pub/sub channel (live, to any API replica), both
 * named `<task key>:events` (keys.ts `events`). A list rather than a stream: a stream preallocates a
 * 4 KiB node, eight times the record, for the two or three events most tasks have. A final status
 * also expires the list with the record and, when the task has a callback_url, queues its delivery
 * in `<prefix>callbacks` (keys.ts `callbacks`), in the same atomic step: a finished task cannot miss
 * its webhook.
 */
const EVENTS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function emit(task_key, payload)
  local list = task_key .. ':events'
  local entry = redis.call('HINCRBY', task_key, 'event_seq', 1) .. ' ' .. payload
  if redis.call('RPUSH', list, entry) > ${EVENTS_KEPT} then redis.call('LTRIM', list, -${EVENTS_KEPT}, -1) end
  redis.call('PUBLISH', list, entry)
end
local function status_event(status, at, attempts, error_json, eta)
  local event = {type = 'status', status = status, at = at, attempts = tonumber(attempts or '0')}
  if (status == 'failed' or status == 'timed_out' or status == 'scheduled') and error_json and error_json ~= '' then event.error = cjson.decode(error_json) end
  if status == 'scheduled' and eta and eta ~= '' then event.eta = eta end
  return cjson.encode(event)
end
local function emit_status(task_key, status, at)
  local f = redis.call('HMGET', task_key, 'attempts', 'error', 'eta')
  emit(task_key, status_event(status, at, f[1], f[2], f[3]))
end
local function finalize(task_key, status, at, ttl)
  redis.call('EXPIRE', task_key, ttl)
  local f = redis.call('HMGET', task_key, 'attempts', 'error', 'id', 'callback')
  emit(task_key, status_event(status, at, f[1], f[2]))
  redis.call('EXPIRE', task_key .. ':events', ttl)
  if f[4] and f[4] ~= '' then
    local prefix = string.sub(task_key, 1, #task_key - #('task:' .. f[3]))
    redis.call('ZADD', prefix .. 'callbacks', now_ms(), f[3])
  end
end
`;

/**
 * Appends a task that ended without success to the dead-letter stream, in the same atomic step as
 * its final status, with a snapshot of its submission: a re-submission must not depend on the
 * record, which expires after RESULT_EXPIRES.
 */
const DEAD_LETTER = `
local function dead_letter(task_key, stream, reason, error_json, at)
  local f = redis.call('HMGET', task_key, 'id', 'task', 'queue', 'priority', 'attempts', 'trace_id', 'input',
    'max_retries', 'time_limit', 'soft_time_limit', 'metadata', 'callback', 'retry_on_timeout')
  redis.call('XADD', stream, '*', 'reason', reason, 'task_id', f[1] or '', 'task', f[2] or '', 'queue', f[3] or '',
    'priority', f[4] or '', 'attempts', f[5] or '', 'trace_id', f[6] or '', 'input', f[7] or '', 'max_retries', f[8] or '',
    'time_limit', f[9] or '', 'soft_time_limit', f[10] or '', 'metadata', f[11] or '', 'callback', f[12] or '',
    'retry_on_timeout', f[13] or '', 'error', error_json, 'at', at)
end
-- A running task whose worker died once too often (poison): failed, WORKER_LOST, dead-lettered.
local function lose(task_key, dead_letters, used, how, at, ttl)
  local err = cjson.encode({type = 'WORKER_LOST', message = 'the worker running this task ' .. how .. ' ' .. used .. ' time(s); not retried further', retryable = false})
  redis.call('HSET', task_key, 'status', 'failed', 'finished_at', at, 'error', err)
  finalize(task_key, 'failed', at, ttl)
  dead_letter(task_key, dead_letters, 'worker_lost', err, at)
end
`;

/**
 * KEYS: task, dead letters. ARGV: worker, started_at, allowed-from list, redelivered ('1'|'0'), ttl seconds.
 * A redelivered `running` task means its worker died mid-run: it runs again, unless it has already
 * used all its attempts (max_retries + 1) — then it is a poison task that keeps killing workers, and
 * ends `failed` (WORKER_LOST) and dead-lettered instead of crash-looping.
 */
export const START_SCRIPT = `${IS_ALLOWED}${EVENTS}${DEAD_LETTER}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status == 'running' and ARGV[4] ~= '1' then return {'skip', status} end
if not allowed(status, ARGV[3]) then return {'skip', status} end
if status == 'running' then
  local used = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
  local max = tonumber(redis.call('HGET', KEYS[1], 'max_retries') or '0')
  if used >= max + 1 then
    lose(KEYS[1], KEYS[2], used, 'died', ARGV[2], ARGV[5])
    return {'lost', tostring(used)}
  end
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'started_at', ARGV[2])
emit(KEYS[1], status_event('running', ARGV[2], attempts))
local f = redis.call('HMGET', KEYS[1], 'input', 'time_limit', 'soft_time_limit', 'max_retries', 'retry_on_timeout')
return {'started', tostring(attempts), f[1] or 'null', f[2] or '', f[3] or '', f[4] or '0', f[5] or ''}
`;

/**
 * KEYS: task, dead letters. ARGV: status, finished_at, result (gzip bytes or ''), error JSON or '',
 * ttl seconds, allowed-from list, dead-letter reason ('' = none).
 */
export const FINISH_SCRIPT = `${IS_ALLOWED}${EVENTS}${DEAD_LETTER}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if not allowed(status, ARGV[6]) then return status end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
finalize(KEYS[1], ARGV[1], ARGV[2], ARGV[5])
if ARGV[7] ~= '' then dead_letter(KEYS[1], KEYS[2], ARGV[7], ARGV[4], ARGV[2]) end
return 'ok'
`;

/** KEYS: task, control channel. ARGV: id, finished_at, ttl seconds, terminate ('1'|'0'), allowed-from list. */
export const CANCEL_SCRIPT = `${IS_ALLOWED}${EVENTS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if not allowed(status, ARGV[5]) then return {'finished', status} end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', ARGV[2])
finalize(KEYS[1], 'cancelled', ARGV[2], ARGV[3])
if status == 'running' then
  redis.call('PUBLISH', KEYS[2], cjson.encode({type = 'cancel', id = ARGV[1], terminate = ARGV[4] == '1'}))
end
return {'cancelled', status}
`;

/**
 * KEYS: task, scheduled set. ARGV: worker, reschedule ('1'|'0'), now ms, now ISO, id.
 * A worker shutting down hands a running task back: the interrupted attempt is not counted, so a
 * deploy never pushes a task towards the poison limit (WORKER_LOST). A task whose message is still
 * unacked goes back to `pending` (the requeued message runs it); one acked at start (leased) is
 * rescheduled for now, so the dispatcher publishes it again. Only the worker running it may do this.
 */
export const RELEASE_SCRIPT = `${EVENTS}
local f = redis.call('HMGET', KEYS[1], 'status', 'worker')
if not f[1] then return 'missing' end
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return f[1] end
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'eta', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[5])
  emit_status(KEYS[1], 'scheduled', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'status', 'pending')
  emit_status(KEYS[1], 'pending', ARGV[4])
end
return 'ok'
`;

/**
 * KEYS: leases, scheduled set, dead letters. ARGV: now ms, limit, task key prefix, now ISO, ttl seconds.
 * Tasks acked at start (longer than RabbitMQ's consumer_timeout allows) are guarded by a lease their
 * worker renews. A lease that ran out means the worker died: the task is rescheduled for now, or, if
 * it has used all its attempts, it ends `failed` (WORKER_LOST) and is dead-lettered, as a redelivery
 * would. Returns {rescheduled ids, lost ids}.
 */
export const REAP_LEASES_SCRIPT = `${EVENTS}${DEAD_LETTER}
local expired = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local rescheduled, lost = {}, {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[3] .. id
  local f = redis.call('HMGET', key, 'status', 'attempts', 'max_retries')
  if f[1] == 'running' then
    local used = tonumber(f[2] or '0')
    if used >= tonumber(f[3] or '0') + 1 then
      lose(key, KEYS[3], used, 'stopped renewing its lease', ARGV[4], ARGV[5])
      table.insert(lost, id)
    else
      redis.call('HSET', key, 'status', 'scheduled', 'eta', ARGV[4])
      redis.call('ZADD', KEYS[2], ARGV[1], id)
      emit_status(key, 'scheduled', ARGV[4])
      table.insert(rescheduled, id)
    end
  end
end
return {rescheduled, lost}
`;

/** KEYS: task. ARGV: progress JSON (an object), now ISO. Only a running task takes progress. */
export const PROGRESS_SCRIPT = `${EVENTS}
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[1])
emit(KEYS[1], '{"type":"progress","at":"' .. ARGV[2] .. '",' .. string.sub(ARGV[1], 2))
return 1
`;

/**
 * KEYS: task, scheduled set. ARGV: eta ISO, eta ms, error JSON, allowed-from list, task id, now ISO.
 * A failed attempt that will be retried: `scheduled` until its eta, the last error kept.
 */
export const RETRY_SCRIPT = `${IS_ALLOWED}${EVENTS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if not allowed(status, ARGV[4]) then return status end
redis.call('HSET', KEYS[1], 'status', 'scheduled', 'eta', ARGV[1], 'error', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
emit_status(KEYS[1], 'scheduled', ARGV[6])
return 'ok'
`;

/**
 * KEYS: scheduled set. ARGV: now ms, lease-until ms, limit, task key prefix, now ISO.
 * Claims due tasks for publishing: their score moves to the lease end, so a dispatcher that dies
 * before publishing lets another one pick them up after the lease. A task that is no longer
 * scheduled (cancelled, expired) is dropped from the set. Returns id, queue, priority, task, trace_id per task.
 */
export const CLAIM_DUE_SCRIPT = `${EVENTS}
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(due) do
  local f = redis.call('HMGET', ARGV[4] .. id, 'status', 'queue', 'priority', 'task', 'trace_id')
  if f[1] == 'scheduled' or f[1] == 'pending' then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    if f[1] == 'scheduled' then
      redis.call('HSET', ARGV[4] .. id, 'status', 'pending')
      emit_status(ARGV[4] .. id, 'pending', ARGV[5])
    end
    table.insert(out, id); table.insert(out, f[2]); table.insert(out, f[3]); table.insert(out, f[4]); table.insert(out, f[5])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`;

/** KEYS: scheduled set. ARGV: lease-until ms, ids... Removes published tasks unless rescheduled meanwhile (a newer score). */
export const RELEASE_DUE_SCRIPT = `
local removed = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call('ZREM', KEYS[1], ARGV[i]); removed = removed + 1
  end
end
return removed
`;

/** KEYS: events list. ARGV: after seq, count. The entries numbered above `after`, oldest first, at most `count`. */
export const READ_EVENTS_SCRIPT = `
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return {} end
local start = math.max(0, tonumber(ARGV[1]) + 1 - tonumber(string.match(first, '^%d+')))
return redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
`;

/**
 * KEYS: callbacks. ARGV: now ms, lease-until ms, limit.
 * Claims due callbacks for delivery: their score moves to the lease end, so a worker that dies
 * mid-delivery lets another one retry after the lease. Any number of workers may deliver at once.
 */
export const CLAIM_CALLBACKS_SCRIPT = `
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
`;

/**
 * KEYS: task, callbacks. ARGV: id, state (pending|delivered|failed), last status ('' = none), last
 * error ('' = none), next attempt ms (for pending). Records one delivery attempt on the record's
 * callback and schedules the next one or forgets the callback.
 */
export const CALLBACK_ATTEMPT_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], 'callback')
if not raw or raw == '' then redis.call('ZREM', KEYS[2], ARGV[1]); return 'missing' end
local cb = cjson.decode(raw)
cb.attempts = (cb.attempts or 0) + 1
cb.state = ARGV[2]
cb.last_status = ARGV[3] ~= '' and tonumber(ARGV[3]) or cjson.null
cb.last_error = ARGV[4] ~= '' and ARGV[4] or cjson.null
redis.call('HSET', KEYS[1], 'callback', cjson.encode(cb))
if ARGV[2] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
return 'ok'
`;

/**
 * KEYS: task, callbacks. ARGV: id, now ms. A callback that failed (all its attempts used) is
 * delivered again from now, with a fresh count of attempts. Returns 'ok', 'missing', 'none' (no
 * callback_url), or the callback's state when it is not failed.
 */
export const RETRY_CALLBACK_SCRIPT = `
local f = redis.call('HMGET', KEYS[1], 'status', 'callback')
if not f[1] then return 'missing' end
if not f[2] or f[2] == '' then return 'none' end
local cb = cjson.decode(f[2])
if cb.state ~= 'failed' then return cb.state end
cb.state = 'pending'
cb.attempts = 0
redis.call('HSET', KEYS[1], 'callback', cjson.encode(cb))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 'ok'
`;
