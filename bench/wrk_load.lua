-- wrk's script for bench/http_api.py: every request of one kind, with a unique id.
--
--   wrk ... -s bench/wrk_load.lua URL -- KIND PATH KEY PHASE RUN [PACE_MS]
--
-- KIND: get (no body), record (one usage event), reserve (one hold of 1 credit),
-- batch (1,000 usage events). PATH is the route, KEY the API key ("-": none), PHASE the
-- request ids' prefix (the server logs them: its own latency by phase), RUN a prefix
-- that makes the event ids of this run unique, PACE_MS a wait before each request of a
-- connection (0: none). Each request carries X-Request-Id PHASE.THREAD.N and each event
-- id RUN-THREAD-N(-I). A batch answered without all its events accepted counts as bad.
-- done() prints one line "WRKJSON {...}" with the counts and latency percentiles (us).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local kind, path, key, phase, run, pace
local n = 0
local bad = 0
local events = 1000

function init(args)
  kind, path, key, phase, run = args[1], args[2], args[3], args[4], args[5]
  pace = tonumber(args[6] or "0")
end

local function headers(id)
  local made = { ["X-Request-Id"] = id }
  if key ~= "-" then made["Authorization"] = "Bearer " .. key end
  if kind ~= "get" then made["Content-Type"] = "application/json" end
  return made
end

local function event(id, size)
  return string.format(
    '{"event_id":"%s","operation":"translate","quantities":{"characters":%d},'
      .. '"dimensions":{"model":"azure-translator"}}',
    id, 1000 + size % 5000)
end

function request()
  n = n + 1
  local id = string.format("%s.%d.%d", phase, tid, n)
  local body = nil
  if kind == "record" then
    body = event(string.format("%s-%d-%d", run, tid, n), n)
  elseif kind == "reserve" then
    body = '{"amount_micros":1000000,"ttl_seconds":3600}'
  elseif kind == "batch" then
    local parts = {}
    for i = 1, events do
      parts[i] = event(string.format("%s-%d-%d-%d", run, tid, n, i), n * events + i)
    end
    body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  end
  return wrk.format(kind == "get" and "GET" or "POST", path, headers(id), body)
end

function delay()
  return pace
end

function response(status, _, body)
  if kind == "batch" and (status ~= 200 or not string.find(body, '"accepted":' .. events, 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, _)
  local batches_bad = 0
  for _, thread in ipairs(threads) do
    batches_bad = batches_bad + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,'
      .. '"read_errors":%d,"write_errors":%d,"timeouts":%d,"bad_batches":%d,'
      .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    batches_bad, latency:percentile(50), latency:percentile(99), latency.max))
end
