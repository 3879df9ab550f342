-- Events of one task, for SSE and WebSocket watchers, kept only for tasks someone has watched (the
-- record's `watched` field, set by the API when a watcher arrives, before it reads the state): a
-- task nobody follows costs no event writes. Each event is numbered (the record's `event_seq`: 1, 2,
-- 3 ... per task, the SSE id), appended as "<seq> <json>" to the task's capped list (so a watcher can
-- resume after the last event it saw) and published on a channel of the same name (live, to any
-- API replica).
local EVENTS_KEPT = tonumber('{{EVENTS_KEPT}}')

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function emit(task_key, events_key, payload)
  local entry = redis.call('HINCRBY', task_key, 'event_seq', 1) .. ' ' .. payload
  if redis.call('RPUSH', events_key, entry) > EVENTS_KEPT then redis.call('LTRIM', events_key, -EVENTS_KEPT, -1) end
  redis.call('PUBLISH', events_key, entry)
end

local function status_event(status, at, attempts, error_json, eta)
  local event = {type = 'status', status = status, at = at, attempts = tonumber(attempts or '0')}
  if (status == 'failed' or status == 'timed_out' or status == 'scheduled') and error_json and error_json ~= '' then event.error = cjson.decode(error_json) end
  if status == 'scheduled' and eta and eta ~= '' then event.eta = eta end
  return cjson.encode(event)
end

-- a status change that is not final, for watchers only
local function emit_status(task_key, events_key, status, at)
  local f = redis.call('HMGET', task_key, 'watched', 'attempts', 'error', 'eta')
  if f[1] == '1' then emit(task_key, events_key, status_event(status, at, f[2], f[3], f[4])) end
end

-- A final status: the record (and its events) expire after the TTL, and a task with a callback_url
-- has its delivery queued in the same atomic step, so a finished task cannot miss its webhook.
-- `f`: the record's watched, attempts, error, id and callback fields (FINAL_FIELDS), as read before.
local FINAL_FIELDS = {'watched', 'attempts', 'error', 'id', 'callback'}
local function finalize_read(task_key, events_key, callbacks_key, status, at, ttl, f)
  redis.call('EXPIRE', task_key, ttl)
  if f[1] == '1' then
    emit(task_key, events_key, status_event(status, at, f[2], f[3]))
    redis.call('EXPIRE', events_key, ttl)
  end
  if f[5] and f[5] ~= '' then redis.call('ZADD', callbacks_key, now_ms(), f[4]) end
end

local function finalize(task_key, events_key, callbacks_key, status, at, ttl)
  finalize_read(task_key, events_key, callbacks_key, status, at, ttl, redis.call('HMGET', task_key, unpack(FINAL_FIELDS)))
end
