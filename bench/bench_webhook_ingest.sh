#!/usr/bin/env bash
# Webhook ingest under sustained load, and the check that no accepted payload is lost.
#
# Builds a throwaway Postgres database with one board (and its lead) and one webhook with
# a secret, serves it with gunicorn (2 sync workers) and posts 1 KB signed JSON payloads
# with wrk (X-Hub-Signature-256), each request with its own X-Forwarded-For so the
# webhook_ingest limit (60/60 s per client IP) is counted for every request without
# refusing the load (the server trusts 127.0.0.1 as a proxy).
#
# Requests are sent for ACTIVE seconds; then the connections go quiet (wrk's delay hook)
# and wrk waits DRAIN more seconds, so every request sent has been answered and counted
# when wrk stops. The payload and delivery rows in the database must then equal the 202
# answers exactly: fewer would be a lost payload, more an accepted payload answered as
# an error. Prints accepted req/s, median and p99 latency, and the counts.
#
# WORKER=1 runs `manage.py db_worker` through the run and until the queue is empty (at most
# WORKER_WAIT seconds after the load), and adds its CPU to the figures. LEAD=0 leaves the
# board without a lead, so the events have nobody to deliver to: their deliveries wait for
# a target, with no job (compare the worker's CPU per event with LEAD=1).
#
# Env: PG_URL (server, default postgres://postgres@127.0.0.1:5432), DB_NAME (mc_webhooks_bench),
#      PORT (18650), ACTIVE (15 s), DRAIN (3 s; below gunicorn's 5 s keep-alive, which would
#      close the idle connections), CONNECTIONS (16), THREADS (wrk threads, 2),
#      WEB_THREADS (threads per gunicorn worker, 1 = the sync workers of gunicorn.conf.py),
#      RATE_LIMIT_BACKEND (redis, with RATE_LIMIT_REDIS_URL default redis://127.0.0.1:6379/6;
#      or memory), KEEP_DB (1 keeps the database for inspection), LEAD (1: the board has a
#      lead; 0: none), WORKER (0; 1 runs the worker), WORKER_WAIT (120 s).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB_NAME=${DB_NAME:-mc_webhooks_bench}
PORT=${PORT:-18650}
ACTIVE=${ACTIVE:-15}
DRAIN=${DRAIN:-3}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
WEB_THREADS=${WEB_THREADS:-1}
LEAD=${LEAD:-1}
WORKER=${WORKER:-0}
WORKER_WAIT=${WORKER_WAIT:-120}
REFERENCE_RPS=280   # earlier implementation, same workload and machine (shared/reference)
BASE_URL="http://127.0.0.1:$PORT"
PYTHON=.venv/bin/python
WORK=$(mktemp -d)
SERVER_PID=""
WORKER_PID=""
SECRET="bench-$(openssl rand -hex 16)"

for tool in wrk curl psql openssl; do
  command -v "$tool" >/dev/null || { echo "bench_webhook_ingest: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done

export DATABASE_URL="$PG_URL/$DB_NAME" ENVIRONMENT=dev DEBUG=false DB_AUTO_MIGRATE=false
export TRUSTED_PROXIES=127.0.0.1 RATE_LIMIT_BACKEND=${RATE_LIMIT_BACKEND:-redis}
if [ "$RATE_LIMIT_BACKEND" = redis ]; then
  export RATE_LIMIT_REDIS_URL=${RATE_LIMIT_REDIS_URL:-redis://127.0.0.1:6379/6}
fi
export BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=2 DJANGO_SETTINGS_MODULE=missioncontrol.settings

cleanup() {
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_DB:-0}" != 1 ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

count() { psql "$DATABASE_URL" -tAc "SELECT count(*) FROM $1"; }
count_waiting() { psql "$DATABASE_URL" -tAc "SELECT count(*) FROM webhooks_webhookdelivery WHERE status = 'waiting'"; }
count_finished() {
  psql "$DATABASE_URL" -tAc "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('SUCCESSFUL', 'FAILED')"
}

# CPU used so far (clock ticks) by the given processes; gone processes count 0.
cpu_ticks() {
  local total=0 pid stat
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }   # fields after the command name, which may contain spaces
    set -- $stat
    total=$((total + ${12} + ${13}))   # utime + stime
  done
  echo "$total"
}
# CPU of this shell's finished children (wrk runs as one).
children_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }
web_pids() { pgrep -P "$SERVER_PID" | tr '\n' ' '; }
# Jobs the worker still has to run: running, or ready and due (a job queued to run at once
# has the largest date as its run_after).
jobs_open() {
  psql "$DATABASE_URL" -tAc "SELECT count(*) FROM django_tasks_database_dbtaskresult
    WHERE status = 'RUNNING' OR (status = 'READY' AND (run_after <= now() OR run_after >= '9999-01-01'))"
}
wait_for_worker() {
  local deadline=$((SECONDS + $1))
  while [ "$(jobs_open)" != 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
}
db_pids() { psql "$PG_URL/postgres" -tAc "SELECT pid FROM pg_stat_activity WHERE datname = '$DB_NAME'" | tr '\n' ' '; }

# --- the load script: signed POSTs, a new client IP each, quiet after ACTIVE seconds ------
cat >"$WORK/ingest.lua" <<'LUA'
local path = assert(os.getenv("INGEST_PATH"))
local file = assert(io.open(assert(os.getenv("BODY_FILE")), "rb"))
local body = file:read("*a")
file:close()
local headers = {
  ["Content-Type"] = "application/json",
  ["User-Agent"] = "bench-webhook-ingest/1",
  ["X-Hub-Signature-256"] = "sha256=" .. assert(os.getenv("SIGNATURE")),
}
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

-- After the active period no connection sends again; answers to requests already sent
-- still arrive and are counted before wrk stops.
function delay()
  if os.time() - started >= active then return 3600 * 1000 end
  return 0
end

function request()
  sent = sent + 1
  -- 10.<thread>.<hi>.<lo>: a label for the rate limiter, never contacted.
  headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", (tid or 1) % 256, math.floor(sent / 256) % 256,
                                             sent % 256)
  return wrk.format("POST", path, headers, body)
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency)
  local merged, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  for status, n in pairs(merged) do table.insert(parts, string.format('"%d":%d', status, n)) end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"accepted":%d,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,' ..
    '"status":{%s},"socket_errors":%d}\n',
    summary.requests, merged[202] or 0, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, table.concat(parts, ","),
    e.connect + e.read + e.write + e.timeout))
end
LUA

# --- a 1 KB JSON body, GitHub-shaped -------------------------------------------------------
$PYTHON - "$WORK/body.json" <<'PY'
import json, sys

event = {"ref": "refs/heads/main", "repository": {"full_name": "acme/api", "private": True},
         "pusher": {"name": "bench"}, "commits": [], "filler": ""}
while len(json.dumps(event, separators=(",", ":"))) < 1024:
    event["commits"].append({"id": f"{len(event['commits']):040x}", "message": "Update the ingest path"})
    if len(json.dumps(event, separators=(",", ":"))) > 1024:
        event["commits"].pop()
        break
event["filler"] = "x" * (1024 - len(json.dumps(event, separators=(",", ":"))))
text = json.dumps(event, separators=(",", ":"))
assert len(text.encode()) == 1024, len(text)
open(sys.argv[1], "w").write(text)
PY
SIGNATURE=$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/body.json" | cut -d' ' -f1)

echo "== database $DB_NAME"
psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" -c "CREATE DATABASE $DB_NAME" >/dev/null 2>&1
$PYTHON manage.py migrate --no-input -v 0
INGEST_PATH=$(WEBHOOK_SECRET=$SECRET LEAD=$LEAD $PYTHON manage.py shell -v 0 -c '
import os
from agents.models import Agent, Board, Organization
from webhooks.models import Webhook
org = Organization.objects.create(name="Bench", slug="bench")
board = Board.objects.create(organization=org, name="Ingest bench", slug="ingest-bench")
if os.environ["LEAD"] == "1":
    Agent.objects.create(organization=org, board=board, name="Lead", is_board_lead=True)
webhook = Webhook.objects.create(board=board, description="Bench events.", secret=os.environ["WEBHOOK_SECRET"])
print(webhook.endpoint_path)
')

echo "== gunicorn, 2 workers x $WEB_THREADS thread(s), rate limits in $RATE_LIMIT_BACKEND"
# More than one thread turns gunicorn's sync worker into gthread.
.venv/bin/gunicorn -c gunicorn.conf.py --threads "$WEB_THREADS" missioncontrol.wsgi:application >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$BASE_URL/healthz" 2>/dev/null && break
  sleep 0.2
done
curl -fsS -o /dev/null "$BASE_URL/healthz" || { echo "the server did not start:" >&2; tail -30 "$WORK/server.log" >&2; exit 1; }

if [ "$WORKER" = 1 ]; then
  echo "== db_worker"
  $PYTHON manage.py db_worker --no-startup-delay >>"$WORK/worker.log" 2>&1 &
  WORKER_PID=$!
fi

export INGEST_PATH BODY_FILE="$WORK/body.json" SIGNATURE
# Warm-up: connections, first queries, code paths. Its rows are counted before the run.
ACTIVE=2 wrk -t1 -c2 -d3s --timeout 30s -s "$WORK/ingest.lua" "$BASE_URL" >/dev/null
[ "$WORKER" = 1 ] && wait_for_worker 60

payloads_before=$(count webhooks_webhookpayload)
deliveries_before=$(count webhooks_webhookdelivery)
jobs_before=$(count django_tasks_database_dbtaskresult)
waiting_before=$(count_waiting); finished_before=$(count_finished)

# The machine may be shared with other work, which makes req/s noisy; the CPU each accepted
# request costs (web workers, Postgres, wrk) does not depend on that, and bounds what two
# idle cores could do.
pids_web=$(web_pids); pids_db=$(db_pids)
web_ticks=$(cpu_ticks $pids_web); db_ticks=$(cpu_ticks $pids_db)
worker_ticks=0; [ "$WORKER" = 1 ] && worker_ticks=$(cpu_ticks $WORKER_PID)

echo "== wrk -t$THREADS -c$CONNECTIONS: ${ACTIVE}s of load, ${DRAIN}s to drain"
wrk_ticks=$(children_ticks)
out=$(ACTIVE=$ACTIVE wrk -t"$THREADS" -c"$CONNECTIONS" -d"$((ACTIVE + DRAIN))s" --timeout 30s --latency \
      -s "$WORK/ingest.lua" "$BASE_URL")
result=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
web_ticks=$(( $(cpu_ticks $(web_pids)) - web_ticks ))
wrk_ticks=$(( $(children_ticks) - wrk_ticks ))
drain_s=0
if [ "$WORKER" = 1 ]; then
  started=$SECONDS
  wait_for_worker "$WORKER_WAIT"
  drain_s=$((SECONDS - started))
  kill -0 "$WORKER_PID" 2>/dev/null || { echo "the worker died:" >&2; tail -30 "$WORK/worker.log" >&2; exit 1; }
  worker_ticks=$(( $(cpu_ticks $WORKER_PID) - worker_ticks ))
fi
# Connections opened during the run count from zero; the worker's queries count until it is done.
db_ticks=$(( $(cpu_ticks $(db_pids)) - db_ticks ))

payloads=$(( $(count webhooks_webhookpayload) - payloads_before ))
deliveries=$(( $(count webhooks_webhookdelivery) - deliveries_before ))
jobs=$(( $(count django_tasks_database_dbtaskresult) - jobs_before ))
waiting=$(( $(count_waiting) - waiting_before ))
finished=$(( $(count_finished) - finished_before ))
open_jobs=$(jobs_open)

$PYTHON - "$result" "$ACTIVE" "$payloads" "$deliveries" "$jobs" "$REFERENCE_RPS" "$web_ticks" "$db_ticks" \
  "$wrk_ticks" "$(getconf CLK_TCK)" "$(nproc)" "$worker_ticks" "$WORKER" "$LEAD" "$waiting" "$finished" \
  "$open_jobs" "$drain_s" <<'PY'
import json, sys

r = json.loads(sys.argv[1])
active, payloads, deliveries, jobs, reference = int(sys.argv[2]), *map(int, sys.argv[3:6]), float(sys.argv[6])
web, db, load, hz, cores, worker, with_worker, lead, waiting, finished, open_jobs, drain = (
    int(value) for value in sys.argv[7:19])
accepted = r["accepted"]
rps = accepted / active
print(f"accepted (202): {accepted} in {active} s = {rps:.1f} req/s "
      f"({rps / reference:.1f}x the earlier implementation's {reference:.0f} req/s)")
print(f"latency: p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms")
print(f"answers: {r['status']}, socket errors: {r['socket_errors']}")
print(f"stored: {payloads} payload rows, {deliveries} delivery rows ({waiting} waiting for a target), "
      f"{jobs} job rows")
if with_worker:
    print(f"worker: {finished} jobs finished, {open_jobs} still to run, {drain} s after the load to empty the queue")
if accepted:
    per = {name: ticks / hz * 1000 / accepted
           for name, ticks in (("web", web), ("postgres", db), ("worker", worker), ("wrk", load))}
    total = sum(per.values())
    worker_part = f"worker {per['worker']:.2f} ms, " if with_worker else ""
    print(f"CPU per accepted request: web workers {per['web']:.2f} ms, Postgres {per['postgres']:.2f} ms, "
          f"{worker_part}wrk {per['wrk']:.2f} ms; all {cores} cores for this alone: at most "
          f"{cores * 1000 / total:.0f} req/s")
    if with_worker:
        server = per["web"] + per["postgres"] + per["worker"]
        print(f"CPU per event on the server side (web + Postgres + worker): {server:.2f} ms "
              f"(board {'with' if lead else 'without'} a lead)")
# Socket errors are reported but do not decide: a request lost on a broken connection either
# was stored (and then the rows exceed the 202s) or was not (and nothing was promised).
# Without a lead every delivery waits for a target and has no job.
expected_jobs = accepted if lead else 0
ok = payloads == deliveries == accepted and jobs == expected_jobs and (lead or waiting == accepted)
if with_worker:
    ok = ok and open_jobs == 0
print("no loss: rows equal the 202 answers" if ok else "MISMATCH between 202 answers and stored rows or jobs")
sys.exit(0 if ok else 1)
PY
