-- wrk script for scripts/bench.sh: POSTs the file named by $BENCH_BODY as a JSON chat
-- completion and prints one machine-readable line with the figures bench.sh needs
-- (latency percentiles in microseconds from wrk's own histogram, and error counts).

local path = os.getenv("BENCH_BODY")
if path == nil then
  error("BENCH_BODY must name the request body file")
end
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end

-- BENCH_UNIQUE=1: every request's prompt differs (a counter after its first "Hello "), so
-- nothing the gateway remembers about earlier prompts (token counts) helps.
if os.getenv("BENCH_UNIQUE") == "1" then
  local template = wrk.body
  local n = 0
  request = function()
    n = n + 1
    local body = string.gsub(template, "Hello ", "Hello " .. n .. " ", 1)
    return wrk.format(nil, nil, nil, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
