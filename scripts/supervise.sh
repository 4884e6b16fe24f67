#!/usr/bin/env bash
# Runs a command and starts it again whenever it exits, until this script is told to stop
# (TERM or INT), which it passes on to the command. `make run` keeps the worker up with
# it: the worker survives database restarts by itself, and this covers anything else.
set -uo pipefail
delay="${SUPERVISE_RESTART_DELAY:-2}"
child=""
stopping=""
stop() {
  stopping=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap stop TERM INT
while [ -z "$stopping" ]; do
  "$@" &
  child=$!
  # `wait` returns early when a trapped signal arrives; wait again for the child to end.
  wait "$child"; code=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
  child=""
  [ -n "$stopping" ] && break
  echo "$1 exited with status $code; starting it again in ${delay}s." >&2
  sleep "$delay" & wait $! || true
done
exit 0
