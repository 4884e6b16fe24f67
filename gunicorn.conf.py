"""gunicorn settings for Mission Control (``gunicorn -c gunicorn.conf.py missioncontrol.wsgi:application``)."""

import ipaddress
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# One thread per worker unless WEB_THREADS asks for more: then each worker is a gthread
# worker serving that many requests at once, which suits hosts where requests mostly wait
# on the database (each thread holds its own database connection) and keeps connections
# open between requests. Otherwise gunicorn's sync worker with a deadline for reading each
# request (ops.gunicorn_worker): without it a client sending a byte at a time holds a
# worker until `timeout` kills it. The sync worker closes a connection after each answer;
# in the shipped stack nginx keeps the clients' connections open in front of it.
threads = max(1, int(os.environ.get("WEB_THREADS") or "1"))
worker_class = "gthread" if threads > 1 else "ops.gunicorn_worker.SyncWorker"
# Seconds a client has to send its whole request, headers and body, to a sync worker. The
# worker reads the variable itself; reading it here too stops gunicorn on a bad value.
read_timeout = float(os.environ.get("GUNICORN_READ_TIMEOUT") or "3")
if not read_timeout > 0:
    raise ValueError(f"GUNICORN_READ_TIMEOUT must be a number of seconds above 0, not {read_timeout!r}")
# Load the application once in the master: configuration errors stop gunicorn before any
# worker forks, with the system check's sentence instead of a loop of failing workers.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Sync workers close each connection after one answer; only gthread workers keep it.
keepalive = 5
# Workers heartbeat through a temporary file; on tmpfs a slow container disk cannot make
# the master think a healthy worker is stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
# Twice gunicorn's defaults, above ops.request_head's limits (its defaults): gunicorn answers
# a request over its own limits with a bare HTML page, so the limits clients meet are ours,
# answered in the JSON error envelope. 8190 is the longest request line gunicorn allows.
# With the read deadline they also bound what one client can make a worker read.
limit_request_line = 8190
limit_request_fields = 200
limit_request_field_size = 16380
# Mission Control writes its own access log line (with request id, route, db time).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def _trusted_proxies() -> str:
    """TRUSTED_PROXIES as gunicorn takes it. An entry that is not an address or range is left
    out here; Django's start-up check (ops.E006) then stops the server with a sentence."""
    networks = []
    for entry in os.environ.get("TRUSTED_PROXIES", "").split(","):
        try:
            networks.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            continue
    return ",".join(networks)


# gunicorn sets the request's scheme from X-Forwarded-Proto, -Ssl and -Protocol, so only our
# own proxies may send them, the same TRUSTED_PROXIES Django believes (nobody when empty):
# otherwise any client could make a plain-HTTP request count as HTTPS.
forwarded_allow_ips = _trusted_proxies()
# The admin control socket is not used; several instances on one host would share its path.
control_socket_disable = True
