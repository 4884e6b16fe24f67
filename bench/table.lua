-- wrk script for bench_table.sh: one request shape per run, from the environment, and one
-- machine-readable line at the end:
--   RESULT {"requests":N,"2xx":N,"p50_ms":..,"p99_ms":..,"status":{"202":N,...},"socket_errors":N}
-- Env: REQ_METHOD (GET), REQ_PATH (required), BODY_FILE (sent as the body), CONTENT_TYPE,
--      SIGNATURE (sent as X-Hub-Signature-256: sha256=<hex>), AGENT_TOKEN (X-Agent-Token),
--      ACTIVE (seconds of load; then the connections go quiet so every answer is counted).
-- Each request carries its own X-Forwarded-For (the server trusts 127.0.0.1), so the
-- per-IP limits count every request without refusing the load.
local method = os.getenv("REQ_METHOD") or "GET"
local path = assert(os.getenv("REQ_PATH"), "set REQ_PATH")
local body = nil
if os.getenv("BODY_FILE") and os.getenv("BODY_FILE") ~= "" then
  local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  body = file:read("*a")
  file:close()
end
local headers = { ["User-Agent"] = "bench-table/1" }
if body then headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json" end
local signature = os.getenv("SIGNATURE")
if signature and signature ~= "" then headers["X-Hub-Signature-256"] = "sha256=" .. signature end
local token = os.getenv("AGENT_TOKEN")
if token and token ~= "" then headers["X-Agent-Token"] = token end
local active = tonumber(os.getenv("ACTIVE") or "15")
local threads, thread_count = {}, 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

local started, sent = nil, 0
statuses = {}

function init(args)
  started = os.time()
end

function delay()
  if os.time() - started >= active then return 3600 * 1000 end
  return 0
end

function request()
  sent = sent + 1
  headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", (tid or 1) % 256, math.floor(sent / 256) % 256,
                                             sent % 256)
  return wrk.format(method, path, headers, body)
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency)
  local merged, parts, ok = {}, {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do merged[status] = (merged[status] or 0) + n end
  end
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d":%d', status, n))
    if status >= 200 and status < 300 then ok = ok + n end
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"2xx":%d,"p50_ms":%.2f,"p99_ms":%.2f,"status":{%s},"socket_errors":%d}\n',
    summary.requests, ok, latency:percentile(50) / 1000, latency:percentile(99) / 1000, table.concat(parts, ","),
    e.connect + e.read + e.write + e.timeout))
end
