#!/usr/bin/env bash
# make demo: agents at work without an API key (see scripts/demo.py). Installs the gateway
# into the cache the first time (npm needed), then runs the demo; Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
command -v npm >/dev/null 2>&1 || { echo "make demo needs npm to install OpenClaw (apt-get install nodejs npm)" >&2; exit 1; }
scripts/openclaw.sh install 2026.9.6
exec .venv/bin/python scripts/demo.py
