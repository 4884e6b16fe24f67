#!/usr/bin/env bash
# Agent authentication under load, with 1 agent and with 1,000 agents in the database.
#
# Builds a throwaway Postgres database, serves it with gunicorn (2 sync workers) and
# measures, with wrk, GET /api/v1/agent/healthz and GET /api/v1/agent/boards using the
# token of the agent created last; then a wrong token (right key, wrong secret) and an
# unknown one. The cost of authenticating must not grow with the number of agents, and a
# wrong token must cost what a right one does. Prints one table and the ratios.
#
# Env: PG_URL (server, default postgres://postgres@127.0.0.1:5432), DB_NAME (mc_agent_bench),
#      PORT (18510), DURATION (15s), CONNECTIONS (4), THREADS (2), AGENTS (1000),
#      RATE_LIMIT_BACKEND (memory; redis needs REDIS_URL).
# The server trusts 127.0.0.1 as a proxy and every request carries its own
# X-Forwarded-For, so the agent_auth limit (20/60 per client IP) stays on and is counted
# for each request without refusing the load.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB_NAME=${DB_NAME:-mc_agent_bench}
PORT=${PORT:-18510}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-4}
THREADS=${THREADS:-2}
AGENTS=${AGENTS:-1000}
REFERENCE_RPS=27.7   # earlier implementation, 1 agent, GET /api/v1/agent/healthz (shared/reference)
BASE_URL="http://127.0.0.1:$PORT"
PYTHON=.venv/bin/python
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
SERVER_PID=""

for tool in wrk curl psql; do
  command -v "$tool" >/dev/null || { echo "bench_agent_auth: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done

export DATABASE_URL="$PG_URL/$DB_NAME" ENVIRONMENT=dev DEBUG=false DB_AUTO_MIGRATE=false
export TRUSTED_PROXIES=127.0.0.1 RATE_LIMIT_BACKEND=${RATE_LIMIT_BACKEND:-memory}
export BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=2 DJANGO_SETTINGS_MODULE=missioncontrol.settings

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

start_server() {
  .venv/bin/gunicorn -c gunicorn.conf.py missioncontrol.wsgi:application >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "$BASE_URL/healthz" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "bench_agent_auth: the server did not start; its log:" >&2
  tail -30 "$WORK/server.log" >&2
  exit 1
}

# run LABEL AGENT_COUNT TOKEN PATH: one wrk run, its RESULT line appended to $RESULTS.
run() {
  local label=$1 count=$2 token=$3 path=$4
  # A short warm-up so connection set-up and first queries are not in the figures.
  AGENT_TOKEN=$token AGENT_PATH=$path wrk -t1 -c1 -d2s -s bench/agent_request.lua "$BASE_URL" >/dev/null
  local out
  out=$(AGENT_TOKEN=$token AGENT_PATH=$path \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s -s bench/agent_request.lua "$BASE_URL")
  local result
  result=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
  printf '%s\t%s\t%s\n' "$label" "$count" "$result" >>"$RESULTS"
  echo "  $label, $count agent(s): $result"
}

# alone TOKEN: median latency of 30 requests one at a time (no load), in ms.
alone() {
  local token=$1
  for n in $(seq 30); do
    curl -sS -o /dev/null -w '%{time_total}\n' -H "X-Agent-Token: $token" -H "X-Forwarded-For: 10.200.0.$n" \
      "$BASE_URL/api/v1/agent/healthz"
  done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] * 1000 }'
}

wrong_secret() { local token=$1; printf '%s' "${token%????}"; [ "${token: -4}" = "AAAA" ] && printf BBBB || printf AAAA; }

echo "== database $DB_NAME"
psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" -c "CREATE DATABASE $DB_NAME" >/dev/null
$PYTHON manage.py migrate --no-input -v 0

echo "== 1 agent"
first=$($PYTHON bench/agent_auth_data.py base)
token_1=$($PYTHON -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$first")
start_server
run healthz 1 "$token_1" /api/v1/agent/healthz
run boards 1 "$token_1" /api/v1/agent/boards
run wrong-secret 1 "$(wrong_secret "$token_1")" /api/v1/agent/healthz
alone_1=$(alone "$token_1")
stop_server

echo "== $AGENTS agents"
grown=$($PYTHON bench/agent_auth_data.py grow "$AGENTS")
token_n=$($PYTHON -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$grown")
stored=$($PYTHON -c 'import json,sys; print(json.loads(sys.argv[1])["agents"])' "$grown")
start_server
run healthz "$stored" "$token_n" /api/v1/agent/healthz
run boards "$stored" "$token_n" /api/v1/agent/boards
run wrong-secret "$stored" "$(wrong_secret "$token_n")" /api/v1/agent/healthz
run unknown-key "$stored" "mc_0123456789abcdef_$(printf 'u%.0s' $(seq 43))" /api/v1/agent/healthz
alone_n=$(alone "$token_n")
stop_server

echo
$PYTHON - "$RESULTS" "$REFERENCE_RPS" "$alone_1" "$alone_n" <<'PY'
import json, sys

path, reference, alone_1, alone_n = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = []
for line in open(path):
    label, count, result = line.rstrip("\n").split("\t")
    rows.append((label, int(count), json.loads(result)))
by = {(label, count): result for label, count, result in rows}
few, many = min(c for _, c, _ in rows), max(c for _, c, _ in rows)

print(f"{'workload':<34}{'agents':>7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
names = {"healthz": "GET /api/v1/agent/healthz", "boards": "GET /api/v1/agent/boards",
         "wrong-secret": "healthz, wrong secret (401)", "unknown-key": "healthz, unknown token (401)"}
for label, count, r in rows:
    print(f"{names[label]:<34}{count:>7}{r['rps']:>10.1f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}  {r['status']}")
print()
for label in ("healthz", "boards"):
    a, b = by[(label, few)], by[(label, many)]
    print(f"{label}: {many} agents / {few} agent: req/s ratio {b['rps'] / a['rps']:.3f}, "
          f"median {a['p50_ms']:.2f} -> {b['p50_ms']:.2f} ms")
right, wrong, unknown = by[("healthz", many)], by[("wrong-secret", many)], by[("unknown-key", many)]
print(f"wrong vs right token ({many} agents): median {wrong['p50_ms']:.2f} ms (wrong secret), "
      f"{unknown['p50_ms']:.2f} ms (unknown), {right['p50_ms']:.2f} ms (right)")
print(f"one request alone: {alone_1} ms with {few} agent, {alone_n} ms with {many} agents")
healthz = by[("healthz", few)]["rps"]
print(f"against the earlier implementation ({reference} req/s, 1 agent, healthz): {healthz / reference:.0f}x; "
      f"with {many} agents: {by[('healthz', many)]['rps'] / reference:.0f}x (it managed 0.10 req/s with 200)")
PY
