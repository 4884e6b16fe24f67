# Mission Control image: gunicorn (default command) or `python manage.py db_worker`.
# Build: docker build -t missioncontrol .   Run: see compose.yml and docs/deployment.md.

FROM python:3.13-slim-trixie AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# Every package is pinned and hash-checked: the image holds exactly what the lock file says.
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock


# Debian 13 (trixie): its postgresql-client is 17, new enough for the Postgres 16 server;
# an older client cannot dump a newer server.
FROM python:3.13-slim-trixie
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=missioncontrol.settings \
    BIND=0.0.0.0:8000

# pg_dump / pg_restore for `manage.py backup` and `restore` inside the container.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . /app

# Static files are part of the image. The throwaway values only let settings load for
# collectstatic; nothing from them is stored, and the real ones come from the environment.
# htmx from the npm registry, hash-checked (scripts/htmx.py); without it the console still works.
RUN python scripts/htmx.py install || true
RUN SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    LOCAL_AUTH_TOKEN=collectstatic-only-not-a-token-0123456789abcdefghijklmnopqrstuvwxyz \
    python manage.py collectstatic --no-input -v0 \
    && mkdir -p /app/var/backups \
    && chown -R app:app /app/var \
    && chmod +x /app/scripts/docker-entrypoint.sh

USER app

EXPOSE 8000

# Liveness only (/healthz touches no dependency). The Host header must be one Django
# accepts, so it is the first of ALLOWED_HOSTS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.') or 'localhost'; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "missioncontrol.wsgi:application"]
