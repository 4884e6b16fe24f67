-- wrk script for bench_agent_auth.sh: one agent-token request per call, a different
-- X-Forwarded-For each time (the server trusts 127.0.0.1 as a proxy), and one
-- machine-readable line at the end:
--   RESULT {"requests":N,"rps":R,"p50_ms":..,"p99_ms":..,"status":{"200":N,...}}
-- Env: AGENT_TOKEN (required), AGENT_PATH (default /api/v1/agent/healthz).

local token = assert(os.getenv("AGENT_TOKEN"), "set AGENT_TOKEN")
local path = os.getenv("AGENT_PATH") or "/api/v1/agent/healthz"
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

local sent = 0
statuses = {}

function request()
  sent = sent + 1
  -- 10.<thread>.<hi>.<lo>: a label for the rate limiter, never contacted.
  local client = string.format("10.%d.%d.%d", (tid or 1) % 256, math.floor(sent / 256) % 256, sent % 256)
  return wrk.format("GET", path, { ["X-Agent-Token"] = token, ["X-Forwarded-For"] = client })
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency)
  local merged, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  table.sort(parts)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"rps":%.1f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"status":{%s},"socket_errors":%d}\n',
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, table.concat(parts, ","),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
