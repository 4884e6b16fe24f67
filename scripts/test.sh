#!/usr/bin/env bash
# The full test suite. Uses SQLite and in-process caches unless DATABASE_URL / REDIS_URL
# point at real servers (.ci/run points them at Postgres and Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "== migrations match the models"
DJANGO_SETTINGS_MODULE=missioncontrol.settings .venv/bin/python manage.py makemigrations --check --dry-run
echo "== lint"
.venv/bin/ruff check .
echo "== types"
.venv/bin/mypy
echo "== tests (database: ${DATABASE_URL:-SQLite}, redis: ${REDIS_URL:-none})"
# The suite's settings (tests/settings.py: the product's plus a fast password hasher).
DJANGO_SETTINGS_MODULE=tests.settings exec .venv/bin/python -m pytest "$@"
