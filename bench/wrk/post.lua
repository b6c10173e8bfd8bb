-- wrk script of `make bench`: POSTs the body in the file $WRK_BODY with the extra headers in $WRK_HEADERS
-- (one "Name: value" a line), pauses $WRK_DELAY_MS milliseconds on average before each request when that is set
-- (a paced load: connections / (pause + latency) requests per second), and prints one JSON line at the end:
--   BENCH_JSON {"requests":..,"duration_us":..,"errors":{..},"latency_us":{"p50":..,..}}
local body_file = assert(os.getenv("WRK_BODY"), "WRK_BODY is not set")
local f = assert(io.open(body_file, "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

-- The pause is drawn at random, exponentially distributed with that mean (whole milliseconds, as wrk's timers
-- count): with one fixed pause, connections that started together stayed in step, and the load came as one
-- burst of every connection per cycle instead of requests spread over time.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "")
if pause and pause > 0 then
  function setup(thread)
    thread:set("seed", math.random(1, 2 ^ 30))
  end
  function init(args)
    math.randomseed((seed or 1) + os.time())
  end
  function delay()
    return math.floor(-pause * math.log(1 - math.random()) + 0.5)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
