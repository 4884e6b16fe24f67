#!/usr/bin/env bash
# The whole performance table in one run: probes, webhook ingest (unsigned, signed, and with
# the worker paused), agent requests (right and wrong token, among 1,000 agents) and the
# board snapshot of 10,000 tasks, against our server as it runs in production: gunicorn with
# 2 workers (gunicorn.conf.py), Postgres, Redis rate limits, `manage.py db_worker` running.
#
# Per workload it prints req/s, p50/p99 latency, the CPU milliseconds per request of the web
# workers, the job worker and the Postgres backends separately (utime + stime from
# /proc/<pid>/stat, read before and after; the worker and Postgres until the queue is
# drained), rows stored minus 2xx answers (ingest: 0 means nothing lost and nothing extra),
# and the drain time: how long after the load stopped the worker still had jobs to run.
# Then each rate against our own /healthz in the same run, and against the earlier
# implementation's figures (../shared/reference, measured on this kind of machine).
#
# Load runs for ACTIVE seconds, then the connections go quiet and wrk waits DRAIN more
# seconds so every request sent is answered and counted. The machine may be shared: the
# script prints `uptime` with the figures, and the ratios within one run are what counts.
#
# Env: PG_URL (server, default postgres://postgres@127.0.0.1:5432), DB_NAME (mc_table_bench;
#      dropped and created again), PORT (18700), REDIS_URL (redis://127.0.0.1:6379/6; the rate
#      limits and the cache), ACTIVE (15 s), DRAIN (3 s), CONNECTIONS (16), AGENT_CONNECTIONS (4),
#      AGENTS (1000), TASKS (10000), SNAPSHOT_RUNS (5), WORKER_WAIT (120 s), KEEP_DB (1 keeps it),
#      GUNICORN_ARGS (--max-requests 0; e.g. "--max-requests 0 --worker-class gthread --threads 1"
#      measures the table with connections kept open between requests).
# bench/bench_agent_auth.sh measures agent requests with 1 and with 1,000 agents side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB_NAME=${DB_NAME:-mc_table_bench}
PORT=${PORT:-18700}
ACTIVE=${ACTIVE:-15}
DRAIN=${DRAIN:-3}
CONNECTIONS=${CONNECTIONS:-16}
AGENT_CONNECTIONS=${AGENT_CONNECTIONS:-4}
AGENTS=${AGENTS:-1000}
TASKS=${TASKS:-10000}
SNAPSHOT_RUNS=${SNAPSHOT_RUNS:-5}
WORKER_WAIT=${WORKER_WAIT:-120}
GUNICORN_ARGS=${GUNICORN_ARGS:---max-requests 0}
BASE_URL="http://127.0.0.1:$PORT"
PYTHON=.venv/bin/python
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
SERVER_PID=""
WORKER_PID=""
SECRET="bench-$(openssl rand -hex 16)"
HZ=$(getconf CLK_TCK)

for tool in wrk curl psql openssl; do
  command -v "$tool" >/dev/null || { echo "bench_table: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done

export DATABASE_URL="$PG_URL/$DB_NAME" ENVIRONMENT=dev DEBUG=false DB_AUTO_MIGRATE=false LOG_LEVEL=WARNING
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/6} RATE_LIMIT_BACKEND=redis
export RATE_LIMIT_REDIS_URL=$REDIS_URL TRUSTED_PROXIES=127.0.0.1
# Connections live through the whole run, so each backend's CPU can be read before and after.
export DB_CONN_MAX_AGE=3600
# The per-agent limit is raised far above the load: it is counted on every request, refuses none.
export RATE_LIMIT_AGENT_REQUESTS=1000000000/60
export BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=2 DJANGO_SETTINGS_MODULE=missioncontrol.settings

cleanup() {
  for pid in "$WORKER_PID" "$SERVER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -CONT "$pid" 2>/dev/null || true
      kill "$pid"; wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "${KEEP_DB:-0}" != 1 ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# CPU used so far (clock ticks) by the given processes; gone processes count 0.
cpu_ticks() {
  local total=0 pid stat
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    set -- $stat
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
web_pids() { pgrep -P "$SERVER_PID" | tr '\n' ' '; }
db_pids() { psql "$PG_URL/postgres" -tAc "SELECT pid FROM pg_stat_activity WHERE datname = '$DB_NAME'" | tr '\n' ' '; }
# db_ticks FILE: each backend's CPU ticks so far, one "pid ticks" line each, into FILE.
db_ticks() { local pid; for pid in $(db_pids); do echo "$pid $(cpu_ticks "$pid")"; done >"$1"; }
# db_delta BEFORE AFTER: CPU the backends used in between (a backend new since BEFORE counts from zero).
db_delta() { awk 'NR == FNR { seen[$1] = $2; next } { used += $2 - ($1 in seen ? seen[$1] : 0) } END { print used + 0 }' "$1" "$2"; }
sql() { psql "$DATABASE_URL" -tAc "$1"; }
payload_rows() { sql "SELECT count(*) FROM webhooks_webhookpayload"; }
# Jobs the worker still has to run: running, or ready and due.
jobs_open() {
  sql "SELECT count(*) FROM django_tasks_database_dbtaskresult
       WHERE status = 'RUNNING' OR (status = 'READY' AND (run_after <= now() OR run_after >= '9999-01-01'))"
}
wait_for_worker() {
  local deadline=$((SECONDS + $1))
  while [ "$(jobs_open)" != 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
}

# run NAME CONNECTIONS [env assignments...]: one wrk run of bench/table.lua, its figures to $RESULTS.
run() {
  local name=$1 connections=$2; shift 2
  local rows_before web0 worker0 out result started drain rows_added=0
  rows_before=$(payload_rows)
  web0=$(cpu_ticks $(web_pids)); worker0=$(cpu_ticks "$WORKER_PID"); db_ticks "$WORK/db.before"
  out=$(env ACTIVE="$ACTIVE" "$@" wrk -t2 -c"$connections" -d"$((ACTIVE + DRAIN))s" --timeout 30s --latency \
        -s bench/table.lua "$BASE_URL")
  result=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
  local web=$(( $(cpu_ticks $(web_pids)) - web0 ))
  [ "${PAUSED:-0}" = 1 ] && kill -CONT "$WORKER_PID"
  started=$SECONDS
  wait_for_worker "$WORKER_WAIT"
  drain=$((SECONDS - started))
  local worker=$(( $(cpu_ticks "$WORKER_PID") - worker0 ))
  db_ticks "$WORK/db.after"
  local db; db=$(db_delta "$WORK/db.before" "$WORK/db.after")
  rows_added=$(( $(payload_rows) - rows_before ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$result" "$web" "$worker" "$db" "$rows_added" "$drain" \
    "$(uptime | sed 's/.*load average: //')" >>"$RESULTS"
  echo "  $name: $result"
}

# --- a 1 KB JSON body, GitHub-shaped (as bench_webhook_ingest.sh sends) ---------------------
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
open(sys.argv[1], "w").write(json.dumps(event, separators=(",", ":")))
PY
SIGNATURE=$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/body.json" | cut -d' ' -f1)

echo "== database $DB_NAME: $AGENTS agents, a board of $TASKS tasks, an ingest board with a lead"
psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" -c "CREATE DATABASE $DB_NAME" >/dev/null 2>&1
$PYTHON manage.py migrate --no-input -v 0
data=$(BENCH_SECRET=$SECRET BENCH_AGENTS=$AGENTS BENCH_TASKS=$TASKS $PYTHON bench/bench_table_data.py)
field() { $PYTHON -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$data" "$1"; }
# Planner statistics, as autovacuum keeps them on a database that grew to this size.
psql "$DATABASE_URL" -qc "ANALYZE" >/dev/null
token=$(field agent_token)
wrong_token="${token%????}$([ "${token: -4}" = AAAA ] && echo BBBB || echo AAAA)"

echo "== gunicorn (gunicorn.conf.py, 2 workers, $GUNICORN_ARGS) and db_worker"
.venv/bin/gunicorn -c gunicorn.conf.py $GUNICORN_ARGS missioncontrol.wsgi:application >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "$BASE_URL/healthz" 2>/dev/null && break; sleep 0.2; done
curl -fsS -o /dev/null "$BASE_URL/healthz" || { echo "the server did not start:" >&2; tail -30 "$WORK/server.log" >&2; exit 1; }
$PYTHON manage.py db_worker --no-startup-delay >>"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
# Warm-up: connections, caches, code paths.
ACTIVE=2 REQ_PATH=/healthz wrk -t1 -c2 -d3s -s bench/table.lua "$BASE_URL" >/dev/null
ACTIVE=2 REQ_METHOD=POST REQ_PATH=$(field unsigned_path) BODY_FILE="$WORK/body.json" \
  wrk -t1 -c2 -d3s -s bench/table.lua "$BASE_URL" >/dev/null
ACTIVE=2 REQ_PATH=/api/v1/agent/healthz AGENT_TOKEN=$token wrk -t1 -c2 -d3s -s bench/table.lua "$BASE_URL" >/dev/null
wait_for_worker 60

echo "== load: ${ACTIVE}s per run, then ${DRAIN}s for the last answers ($(uptime | sed 's/.*load/load/'))"
run healthz "$CONNECTIONS" REQ_PATH=/healthz
run ingest "$CONNECTIONS" REQ_METHOD=POST REQ_PATH="$(field unsigned_path)" BODY_FILE="$WORK/body.json"
run ingest-signed "$CONNECTIONS" REQ_METHOD=POST REQ_PATH="$(field signed_path)" BODY_FILE="$WORK/body.json" \
  SIGNATURE="$SIGNATURE"
kill -STOP "$WORKER_PID"
PAUSED=1 run ingest-worker-paused "$CONNECTIONS" REQ_METHOD=POST REQ_PATH="$(field unsigned_path)" \
  BODY_FILE="$WORK/body.json"
run agent "$AGENT_CONNECTIONS" REQ_PATH=/api/v1/agent/healthz AGENT_TOKEN="$token"
run agent-wrong-token "$AGENT_CONNECTIONS" REQ_PATH=/api/v1/agent/healthz AGENT_TOKEN="$wrong_token"

# The snapshot: SNAPSHOT_RUNS requests one after the other (it is a page load, not a flood).
snapshot_path=$(field snapshot_path); snapshot_token=$(field snapshot_token)
curl -fsS -o "$WORK/snapshot.json" -H "X-Agent-Token: $snapshot_token" "$BASE_URL$snapshot_path"
web0=$(cpu_ticks $(web_pids)); db_ticks "$WORK/db.before"
for _ in $(seq "$SNAPSHOT_RUNS"); do
  curl -sS -o /dev/null -w '%{time_total} %{http_code}\n' -H "X-Agent-Token: $snapshot_token" \
    -H "X-Forwarded-For: 10.250.0.1" "$BASE_URL$snapshot_path"
done >"$WORK/snapshot.times"
web=$(( $(cpu_ticks $(web_pids)) - web0 )); db_ticks "$WORK/db.after"; db=$(db_delta "$WORK/db.before" "$WORK/db.after")
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' snapshot "$($PYTHON - "$WORK/snapshot.times" "$WORK/snapshot.json" <<'PY'
import json, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
times = sorted(float(t) * 1000 for t, _ in rows)
ok = sum(1 for _, code in rows if code.startswith("2"))
tasks = len(json.load(open(sys.argv[2]))["tasks"])
print(json.dumps({"requests": len(rows), "2xx": ok, "p50_ms": statistics.median(times), "p99_ms": times[-1],
                  "seconds": sum(times) / 1000, "tasks": tasks, "status": {}}))
PY
)" "$web" 0 "$db" 0 0 "$(uptime | sed 's/.*load average: //')" >>"$RESULTS"

echo
$PYTHON - "$RESULTS" "$ACTIVE" "$HZ" <<'PY'
import json
import sys

# The earlier implementation on this machine (../shared/reference/README.md; the snapshot
# from the performance issue's side-by-side runs: 2.7-3.0 s).
EARLIER = {"healthz": 5700.0, "ingest": 280.0, "ingest-signed": 280.0, "ingest-worker-paused": 280.0,
           "agent": 27.7, "agent-wrong-token": None, "snapshot": 1 / 2.85}
path, active, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {}
for line in open(path):
    name, result, web, worker, db, rows_added, drain, load = line.rstrip("\n").split("\t")
    r = json.loads(result)
    seconds = r.get("seconds", active)
    rows[name] = {**r, "rps": r["2xx"] / seconds if name == "snapshot" else r["requests"] / active,
                  "web": int(web), "worker": int(worker), "db": int(db), "rows_added": int(rows_added),
                  "drain": int(drain), "load": load}
print(f"{'workload':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'web ms':>8}{'worker':>8}{'pg ms':>7}{'all':>7}"
      f"{'rows-2xx':>9}{'drain s':>8}  statuses  (load 1/5/15 min)")
for name, r in rows.items():
    per = lambda ticks: ticks * 1000 / hz / max(r["requests"], 1)  # noqa: E731
    total = per(r["web"]) + per(r["worker"]) + per(r["db"])
    lost = r["rows_added"] - r["2xx"] if name.startswith("ingest") else ""
    print(f"{name:<22}{r['rps']:>9.1f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{per(r['web']):>8.2f}"
          f"{per(r['worker']):>8.2f}{per(r['db']):>7.2f}{total:>7.2f}{lost!s:>9}{r['drain']:>8}  {r['status']}  "
          f"({r['load']})")
print("(CPU ms per request: web = gunicorn workers, worker = db_worker, pg = the database's backends; "
      "the worker and Postgres include the drain)")
if "snapshot" in rows:
    print(f"snapshot: {rows['snapshot']['tasks']} tasks, median {rows['snapshot']['p50_ms']:.0f} ms")
print()
healthz = rows["healthz"]["rps"]
print(f"{'workload':<22}{'/ our healthz':>14}{'/ earlier':>11}")
for name, r in rows.items():
    earlier = EARLIER.get(name)
    ratio = f"{r['rps'] / earlier:.2f}x" if earlier else "-"
    print(f"{name:<22}{r['rps'] / healthz:>13.1%}{ratio:>11}")
ingest = rows.get("ingest")
if ingest:
    per = lambda ticks: ticks * 1000 / hz / max(ingest["2xx"], 1)  # noqa: E731
    print(f"\none stored event end to end (web + worker + Postgres): "
          f"{per(ingest['web']) + per(ingest['worker']) + per(ingest['db']):.2f} ms of CPU")
PY
