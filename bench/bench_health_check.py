"""Benchmark: what checking a kept Postgres connection before each request costs.

Django's ``CONN_HEALTH_CHECKS`` tests a kept connection before a request's first query. Two
ways are measured side by side, in alternating rounds on two connections to the same
server: Django's stock backend (a ``SELECT 1`` round trip) and ``missioncontrol.postgres``
(a look at the socket; ``DB_HEALTH_CHECK=socket``, the default). Each simulated request is
what a WSGI request does to its connection: the per-request reset Django runs when a
request starts (``close_if_unusable_or_obsolete``), then one small query of its own.

Printed per way: microseconds of CPU per request in this process and in the connection's
Postgres backend (utime + stime from ``/proc/<pid>/stat``; the server must run on this
machine), wall microseconds per request, and the statements each connection sent. What
the socket check gives up (a peer lost without a word) is described in
``missioncontrol/postgres/base.py`` and proven in ``tests/missioncontrol/test_postgres_health_check.py``.

Usage (from the project folder; it reads and writes nothing in the database)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_health_check.py

Options: ``--requests 5000`` per round, ``--rounds 10``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ.setdefault("LOG_LEVEL", "WARNING")


from bench.bench_live import HZ, cpu_ticks  # noqa: E402 (after the project is on the path)


def backend_cpu_seconds(pid: int) -> float:
    return cpu_ticks([pid]) / HZ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()

    import django

    django.setup()
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper as SelectOne

    from missioncontrol.postgres.base import DatabaseWrapper as Socket

    default = connections["default"]
    if default.vendor != "postgresql":
        sys.exit("bench_health_check: DATABASE_URL must point at Postgres")
    settings_dict = {**default.settings_dict, "CONN_HEALTH_CHECKS": True, "CONN_MAX_AGE": None}
    ways = {"SELECT 1 (DB_HEALTH_CHECK=query)": SelectOne(dict(settings_dict), alias="select_one"),
            "socket (DB_HEALTH_CHECK=socket)": Socket(dict(settings_dict), alias="socket")}
    pids = {}
    for name, wrapper in ways.items():
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids[name] = cursor.fetchone()[0]

    sent = {name: 0 for name in ways}
    for name, wrapper in ways.items():
        # Count every statement the connection sends, Django's own SELECT 1 included.
        class Counting(wrapper.connection.cursor_factory):
            def execute(self, *args, way=name, **kwargs):
                sent[way] += 1
                return super().execute(*args, **kwargs)

        wrapper.connection.cursor_factory = Counting

    results: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "pg": [], "wall": []} for name in ways}
    for _ in range(options.rounds):
        for name, wrapper in ways.items():
            cpu, pg, wall = time.process_time(), backend_cpu_seconds(pids[name]), time.perf_counter()
            for number in range(options.requests):
                wrapper.close_if_unusable_or_obsolete()
                with wrapper.cursor() as cursor:
                    cursor.execute("SELECT %s", [number])
                    cursor.fetchone()
            scale = 1e6 / options.requests
            results[name]["wall"].append((time.perf_counter() - wall) * scale)
            results[name]["cpu"].append((time.process_time() - cpu) * scale)
            results[name]["pg"].append((backend_cpu_seconds(pids[name]) - pg) * scale)
    total = options.rounds * options.requests
    statements = {name: sent[name] / total for name in ways}
    print(f"health check of a kept connection: {options.rounds} alternating rounds of {options.requests} requests, "
          f"one small query each; median of the rounds; load {os.getloadavg()[0]:.2f}")
    print(f"{'way':36} {'statements/req':>15} {'CPU us/req':>11} {'Postgres us/req':>16} {'wall us/req':>12}")
    medians = {}
    for name, figures in results.items():
        medians[name] = {key: statistics.median(values) for key, values in figures.items()}
        row = medians[name]
        print(f"{name:36} {statements[name]:15.2f} {row['cpu']:11.1f} {row['pg']:16.1f} {row['wall']:12.1f}")
    select_one, socket = medians.values()
    print(f"the socket check saves per request: {select_one['cpu'] - socket['cpu']:.1f} us CPU here, "
          f"{select_one['pg'] - socket['pg']:.1f} us in Postgres, {select_one['wall'] - socket['wall']:.1f} us of wall time")
    for wrapper in ways.values():
        wrapper.close()


if __name__ == "__main__":
    main()
