#!/bin/sh
# Container entry point: apply migrations when DB_AUTO_MIGRATE says so, then become the
# command (gunicorn or the worker) so it receives the container's signals directly.
set -eu

# Ask Django rather than reading the variable here: settings parse it strictly and know
# its default (true in dev, false with ENVIRONMENT=production).
auto_migrate="$(python manage.py shell -v0 -c 'from django.conf import settings; print(settings.DB_AUTO_MIGRATE)')"

if [ "$auto_migrate" = "True" ]; then
  # `upgrade` is the operator's command for applying a release; older images only migrate.
  if python manage.py help upgrade >/dev/null 2>&1; then
    python manage.py upgrade --no-input
  else
    python manage.py migrate --no-input
  fi
fi

exec "$@"
