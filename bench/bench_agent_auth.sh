#!/usr/bin/env bash
# Agent authentication under load, with 1 agent and with 1,000 agents in the database.
#
# Builds two throwaway Postgres databases, one with 1 agent and one with 1,000, serves
# each with its own gunicorn (2 sync workers) and measures, with wrk, GET
# /api/v1/agent/healthz and GET /api/v1/agent/boards using the token of the agent
# created last; then, on the large database, a wrong token (right key, wrong secret) and
# an unknown one. Runs alternate between the two servers for ROUNDS rounds and the
# medians are reported (and the best run, the one least disturbed by other load on a
# shared machine); ratios are taken within a round, between runs seconds apart. The
# gunicorn workers' CPU time per request is reported too: other load on the machine
# slows requests down but hardly changes what each one costs. The cost of authenticating
# must not grow with the number of agents, and a wrong token must cost what a right one
# does. Prints one table and the ratios.
#
# Env: PG_URL (server, default postgres://postgres@127.0.0.1:5432), DB_NAME (prefix,
#      mc_agent_bench), PORT (first of two ports, 18510), DURATION (8s per run),
#      ROUNDS (5), CONNECTIONS (4), THREADS (2), AGENTS (1000),
#      RATE_LIMIT_BACKEND (memory; redis needs REDIS_URL), GUNICORN_ARGS (--max-requests 0).
# The servers trust 127.0.0.1 as a proxy and every request carries its own
# X-Forwarded-For, so the agent_auth limit (20 failures/60 s per client IP) stays on and
# is counted for each wrong token without refusing the load; the per-agent limit
# (agent_requests) is raised far above the load, so it is counted on every request and
# refuses none.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB_NAME=${DB_NAME:-mc_agent_bench}
PORT=${PORT:-18510}
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-4}
THREADS=${THREADS:-2}
AGENTS=${AGENTS:-1000}
# Workers are not recycled during the runs, so their CPU time can be read per run.
GUNICORN_ARGS=${GUNICORN_ARGS:---max-requests 0}
REFERENCE_RPS=27.7   # earlier implementation, 1 agent, GET /api/v1/agent/healthz (shared/reference)
PYTHON=.venv/bin/python
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
SERVER_PIDS=()
declare -A MASTER_OF_PORT
TICKS_PER_SECOND=$(getconf CLK_TCK)

for tool in wrk curl psql; do
  command -v "$tool" >/dev/null || { echo "bench_agent_auth: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done

export ENVIRONMENT=dev DEBUG=false DB_AUTO_MIGRATE=false WEB_CONCURRENCY=2
export TRUSTED_PROXIES=127.0.0.1 RATE_LIMIT_BACKEND=${RATE_LIMIT_BACKEND:-memory}
export RATE_LIMIT_AGENT_REQUESTS=${RATE_LIMIT_AGENT_REQUESTS:-1000000000/60}
export DJANGO_SETTINGS_MODULE=missioncontrol.settings

cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# database NAME COMMAND...: a fresh database NAME, migrated, then the data command; prints its JSON.
database() {
  local name=$1; shift
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  DATABASE_URL="$PG_URL/$name" $PYTHON manage.py migrate --no-input -v 0
  DATABASE_URL="$PG_URL/$name" $PYTHON bench/agent_auth_data.py "$@"
}

# serve NAME PORT: gunicorn (2 workers) on the database NAME, in the background.
serve() {
  local name=$1 port=$2
  DATABASE_URL="$PG_URL/$name" BIND="127.0.0.1:$port" \
    .venv/bin/gunicorn -c gunicorn.conf.py $GUNICORN_ARGS missioncontrol.wsgi:application >>"$WORK/server-$port.log" 2>&1 &
  SERVER_PIDS+=("$!")
  MASTER_OF_PORT[$port]=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "bench_agent_auth: the server on port $port did not start; its log:" >&2
  tail -30 "$WORK/server-$port.log" >&2
  exit 1
}

# worker_ticks PORT: CPU time (user + system, clock ticks) used so far by that server's workers.
worker_ticks() {
  local total=0 pid
  for pid in $(pgrep -P "${MASTER_OF_PORT[$1]}"); do
    # Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$total"
}

# run LABEL AGENTS PORT TOKEN PATH: one wrk run; its RESULT line (plus the workers' CPU
# milliseconds per request, which other load on the machine hardly changes) goes to $RESULTS.
run() {
  local label=$1 count=$2 port=$3 token=$4 path=$5 out result before after
  before=$(worker_ticks "$port")
  out=$(AGENT_TOKEN=$token AGENT_PATH=$path \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s -s bench/agent_request.lua \
        "http://127.0.0.1:$port")
  after=$(worker_ticks "$port")
  result=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
  result=$($PYTHON -c 'import json, sys
r = json.loads(sys.argv[1]); r["cpu_ms"] = round(int(sys.argv[2]) * 1000 / int(sys.argv[3]) / max(r["requests"], 1), 3)
print(json.dumps(r))' "$result" "$((after - before))" "$TICKS_PER_SECOND")
  printf '%s\t%s\t%s\t%s\n' "$round" "$label" "$count" "$result" >>"$RESULTS"
  echo "  $label, $count agent(s): $result"
}

# warm PORT TOKEN: open the workers' database connections and fill their caches.
warm() {
  AGENT_TOKEN=$2 AGENT_PATH=/api/v1/agent/boards wrk -t1 -c2 -d2s -s bench/agent_request.lua \
    "http://127.0.0.1:$1" >/dev/null
}

# alone PORT TOKEN: median latency of 30 requests sent one at a time, in ms.
alone() {
  local port=$1 token=$2
  for n in $(seq 30); do
    curl -sS -o /dev/null -w '%{time_total}\n' -H "X-Agent-Token: $token" -H "X-Forwarded-For: 10.200.0.$n" \
      "http://127.0.0.1:$port/api/v1/agent/healthz"
  done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] * 1000 }'
}

field() { $PYTHON -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
wrong_secret() { local token=$1; printf '%s' "${token%????}"; [ "${token: -4}" = "AAAA" ] && printf BBBB || printf AAAA; }

few_port=$PORT many_port=$((PORT + 1))
echo "== databases ${DB_NAME}_1 and ${DB_NAME}_$AGENTS"
few=$(database "${DB_NAME}_1" base)
many=$(database "${DB_NAME}_$AGENTS" base)
many=$(DATABASE_URL="$PG_URL/${DB_NAME}_$AGENTS" $PYTHON bench/agent_auth_data.py grow "$AGENTS")
few_token=$(field "$few" token) many_token=$(field "$many" token) stored=$(field "$many" agents)
serve "${DB_NAME}_1" "$few_port"
serve "${DB_NAME}_$AGENTS" "$many_port"
warm "$few_port" "$few_token"
warm "$many_port" "$many_token"
unknown_token="mc_0123456789abcdef_$(printf 'u%.0s' $(seq 43))"

for round in $(seq "$ROUNDS"); do
  echo "== round $round of $ROUNDS ($DURATION per run, -t$THREADS -c$CONNECTIONS)"
  # Alternate which side goes first, so drift in machine load favours neither.
  if [ $((round % 2)) -eq 1 ]; then order="few many"; else order="many few"; fi
  for path in /api/v1/agent/healthz /api/v1/agent/boards; do
    for side in $order; do
      if [ "$side" = few ]; then run "${path##*/}" 1 "$few_port" "$few_token" "$path"
      else run "${path##*/}" "$stored" "$many_port" "$many_token" "$path"; fi
    done
  done
  run wrong-secret "$stored" "$many_port" "$(wrong_secret "$many_token")" /api/v1/agent/healthz
  run unknown-key "$stored" "$many_port" "$unknown_token" /api/v1/agent/healthz
done
alone_few=$(alone "$few_port" "$few_token")
alone_many=$(alone "$many_port" "$many_token")

echo
$PYTHON - "$RESULTS" "$REFERENCE_RPS" "$alone_few" "$alone_many" <<'PY'
import json
import statistics
import sys
from collections import defaultdict

path, reference, alone_few, alone_many = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = defaultdict(dict)  # (label, agents) -> {round: result}
for line in open(path):
    round_number, label, count, result = line.rstrip("\n").split("\t")
    runs[(label, int(count))][int(round_number)] = json.loads(result)
few = min(count for _, count in runs)
many = max(count for _, count in runs)


def values(key, name):
    return [r[name] for r in runs[key].values()]


def median(key, name):
    return statistics.median(values(key, name))


def paired_ratio(label, name):
    """Median over rounds of (many agents / few agents), each pair measured seconds apart."""
    a, b = runs[(label, few)], runs[(label, many)]
    return statistics.median(b[n][name] / a[n][name] for n in a if n in b)


def statuses(key):
    total = defaultdict(int)
    for r in runs[key].values():
        for status, n in r["status"].items():
            total[status] += n
    return dict(total)


names = {"healthz": "GET /api/v1/agent/healthz", "boards": "GET /api/v1/agent/boards",
         "wrong-secret": "healthz, wrong secret (401)", "unknown-key": "healthz, unknown token (401)"}
print(f"{len(runs[('healthz', few)])} rounds")
print(f"{'workload':<32}{'agents':>7}{'req/s':>9}{'best':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>8}  statuses")
for key in sorted(runs, key=lambda k: (list(names).index(k[0]), k[1])):
    print(f"{names[key[0]]:<32}{key[1]:>7}{median(key, 'rps'):>9.1f}{max(values(key, 'rps')):>8.0f}"
          f"{median(key, 'p50_ms'):>9.2f}{median(key, 'p99_ms'):>9.2f}{median(key, 'cpu_ms'):>8.2f}  {statuses(key)}")
print("(medians over rounds; best: the fastest round; CPU ms: gunicorn workers' CPU time per request)")
print()
for label in ("healthz", "boards"):
    print(f"{label}: {many} agents vs {few}: req/s ratio {paired_ratio(label, 'rps'):.3f}, "
          f"median latency ratio {paired_ratio(label, 'p50_ms'):.3f}, "
          f"CPU per request ratio {paired_ratio(label, 'cpu_ms'):.3f} (medians of per-round ratios)")
right = median(("healthz", many), "p50_ms")
print(f"wrong vs right token, {many} agents: median {median(('wrong-secret', many), 'p50_ms'):.2f} ms "
      f"(wrong secret), {median(('unknown-key', many), 'p50_ms'):.2f} ms (unknown), {right:.2f} ms (right); "
      f"CPU {median(('wrong-secret', many), 'cpu_ms'):.2f} / {median(('unknown-key', many), 'cpu_ms'):.2f} / "
      f"{median(('healthz', many), 'cpu_ms'):.2f} ms per request")
print(f"one request alone: {alone_few} ms with {few} agent, {alone_many} ms with {many} agents")
for count in (few, many):
    rps, best = median(("healthz", count), "rps"), max(values(("healthz", count), "rps"))
    print(f"healthz with {count} agent(s): {rps:.0f} req/s median, {best:.0f} best = {rps / reference:.0f}x / "
          f"{best / reference:.0f}x the earlier implementation's {reference} req/s with 1 agent "
          f"(it managed 0.10 req/s with 200)")
PY
