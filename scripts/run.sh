#!/usr/bin/env bash
# Starts Mission Control on this machine: gunicorn and the background worker, on the
# embedded defaults (SQLite under var/, in-process cache) unless the environment says
# otherwise. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export DJANGO_SETTINGS_MODULE=missioncontrol.settings
export BIND="${BIND:-127.0.0.1:${PORT:-8000}}"
export BASE_URL="${BASE_URL:-http://localhost:${BIND##*:}}"
py=.venv/bin/python

$py manage.py check
if [ "$($py manage.py shell -v0 -c 'from django.conf import settings; print(settings.DB_AUTO_MIGRATE)')" = "True" ]; then
  # The safe path: a backup first when there is data, then the migrations.
  $py manage.py upgrade --no-input
fi
$py manage.py collectstatic --no-input -v0
# A first start shows a populated console instead of empty pages; never touches a database with boards.
$py manage.py seed_demo --if-empty

pids=()
stop() {
  trap - INT TERM
  echo; echo "Stopping Mission Control..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  echo "Stopped."
}
trap stop INT TERM

.venv/bin/gunicorn -c gunicorn.conf.py missioncontrol.wsgi:application &
pids+=($!)
# The worker outlives database restarts; should it die anyway, it is started again.
scripts/supervise.sh $py manage.py db_worker &
pids+=($!)

$py manage.py signin_info
# The web server stopping (a crash, or Ctrl-C) stops the worker too.
wait -n || true
stop
