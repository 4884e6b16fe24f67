#!/bin/sh
# Container entry point. Before the web server starts, apply migrations when
# DB_AUTO_MIGRATE says so; then become the command, so it receives the container's
# signals directly. Other commands (the worker, `docker compose run ... manage.py ...`)
# start as they are: only the server migrates, once, before serving.
set -eu

if [ "${1:-}" = "gunicorn" ]; then
  # Ask Django rather than reading the variable here: settings parse it strictly and
  # know its default (true in dev, false with ENVIRONMENT=production).
  auto_migrate="$(python manage.py shell -v0 -c 'from django.conf import settings; print(settings.DB_AUTO_MIGRATE)')"
  if [ "$auto_migrate" = "True" ]; then
    # `upgrade` is the operator's command for applying a release (it backs up first);
    # older images only have `migrate`.
    if python manage.py help upgrade >/dev/null 2>&1; then
      python manage.py upgrade --no-input
    else
      python manage.py migrate --no-input
    fi
  fi
fi

exec "$@"
