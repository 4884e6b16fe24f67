"""gunicorn settings for Mission Control (``gunicorn -c gunicorn.conf.py missioncontrol.wsgi:application``)."""

import ipaddress
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# gthread workers, one thread each unless WEB_THREADS asks for more (more suits hosts where
# requests mostly wait on the database; each thread holds its own database connection).
# Even with one thread, gthread keeps a client's connection open between requests, where
# the sync worker closed it after every answer: a probe, an agent or nginx's upstream
# keepalive then reuses it instead of paying a TCP handshake (and a worker wake-up) for
# each request.
threads = max(1, int(os.environ.get("WEB_THREADS") or "1"))
worker_class = "gthread"
# Load the application once in the master: configuration errors stop gunicorn before any
# worker forks, with the system check's sentence instead of a loop of failing workers.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Workers heartbeat through a temporary file; on tmpfs a slow container disk cannot make
# the master think a healthy worker is stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
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
