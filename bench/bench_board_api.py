"""Benchmark: the task list and the board snapshot of the user API on a board of 10,000 tasks.

Fixed workload. For each board size (100 and 10,000 tasks; a quarter of the tasks depend
on another task, every task has a tag and an assignee, every tenth has an approval) it
measures, in process with Django's test client (no HTTP server, so the figures are the
application's own cost):

- ``GET /api/v1/boards/{id}/tasks?limit=200`` (``LIST_RUNS`` requests)
- ``GET /api/v1/boards/{id}/snapshot`` (``SNAPSHOT_RUNS`` requests; it returns every task)

and prints the median and p90 latency and the number of SQL queries of one request. The
query count is the same for both sizes: nothing is loaded per task.

Usage (from the project folder; the database is migrated, filled, measured, then the
benchmark's organization is deleted again, so point it at a scratch database)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mc_api .venv/bin/python bench/bench_board_api.py
    .venv/bin/python bench/bench_board_api.py            # SQLite scratch file var/bench_board_api.sqlite3

Options: ``--sizes 100,10000`` (board sizes), ``--keep`` (leave the data in place).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'bench_board_api.sqlite3'}")
# One access-log line per request would drown the figures.
os.environ.setdefault("LOG_LEVEL", "WARNING")

LIST_RUNS = 30
SNAPSHOT_RUNS = 7


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def populate(size: int) -> tuple[object, object, object]:
    """An organization with one admin and one board of ``size`` tasks; returns (org, user, board)."""
    from datetime import timedelta

    from django.utils import timezone

    from agents.models import (
        Agent,
        Approval,
        ApprovalTask,
        Board,
        Membership,
        Organization,
        Tag,
        Task,
        TaskDependency,
        User,
    )

    run = uuid.uuid4().hex[:8]
    org = Organization.objects.create(name=f"Bench {run}", slug=f"bench-{run}")
    user = User.objects.create_user(username=f"bench-{run}")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.ADMIN)
    board = Board.objects.create(organization=org, name=f"Bench board {size}", slug=f"bench-{size}")
    agents = Agent.objects.bulk_create(Agent(organization=org, board=board, name=f"Agent {n}") for n in range(10))
    tags = Tag.objects.bulk_create(Tag(organization=org, name=f"Tag {n}", slug=f"tag-{n}") for n in range(20))
    now = timezone.now()
    statuses = Task.Status.values
    tasks = Task.objects.bulk_create(
        (Task(board=board, title=f"Task {n}", description="Benchmark task " * 4, status=statuses[n % 4],
              assigned_agent=agents[n % len(agents)], created_at=now - timedelta(seconds=n), updated_at=now)
         for n in range(size)), batch_size=2000)
    TaskDependency.objects.bulk_create(
        (TaskDependency(task=tasks[n], depends_on=tasks[n - 1]) for n in range(1, size, 4)), batch_size=2000)
    Task.tags.through.objects.bulk_create(
        (Task.tags.through(task=task, tag=tags[n % len(tags)]) for n, task in enumerate(tasks)), batch_size=2000)
    approvals = Approval.objects.bulk_create(
        (Approval(board=board, action_type="mark_done", confidence=70, agent=agents[0],
                  status="pending" if n % 20 else "approved") for n in range(0, size, 10)), batch_size=2000)
    ApprovalTask.objects.bulk_create(
        (ApprovalTask(approval=a, task=tasks[n * 10], is_pending=a.status == "pending")
         for n, a in enumerate(approvals)), batch_size=2000)
    return org, user, board


def measure(call: Callable[[], object], runs: int) -> tuple[float, float, int]:
    """Median and p90 latency in ms over ``runs`` calls (after a warm-up), and the queries of one call."""
    from django.db import connection

    executed: list[str] = []

    def count(execute, sql, params, many, context):  # noqa: ANN001 -- Django's wrapper signature
        executed.append(sql)
        return execute(sql, params, many, context)

    call()
    with connection.execute_wrapper(count):
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p90 = timings[min(len(timings) - 1, int(len(timings) * 0.9))]
    return statistics.median(timings), p90, len(executed)


def bench(size: int, keep: bool) -> list[tuple[str, int, float, float, int, int]]:
    from django.test import Client

    started = time.perf_counter()
    org, user, board = populate(size)
    print(f"  board of {size:,} tasks filled in {time.perf_counter() - started:.1f} s", flush=True)
    client = Client()
    client.force_login(user)
    rows = []
    for label, url, runs in (("tasks?limit=200", f"/api/v1/boards/{board.pk}/tasks?limit=200", LIST_RUNS),
                             ("snapshot", f"/api/v1/boards/{board.pk}/snapshot", SNAPSHOT_RUNS)):
        sizes: list[int] = []

        def call(url: str = url, sizes: list[int] = sizes) -> object:
            response = client.get(url)
            assert response.status_code == 200, response.content[:500]
            sizes.append(len(response.content))
            return response

        median, p90, queries = measure(call, runs)
        rows.append((label, size, median, p90, queries, sizes[-1]))
    if not keep:
        org.delete()  # cascades to the board and everything on it
        user.delete()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000", help="board sizes, comma separated")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's data in the database")
    options = parser.parse_args()
    sizes = [int(part) for part in options.sizes.split(",") if part.strip()]

    setup_django()
    from django.db import connection

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    rows = []
    for size in sizes:
        rows.extend(bench(size, options.keep))

    print(f"\n{'request':<18}{'tasks':>8}{'median ms':>12}{'p90 ms':>10}{'queries':>9}{'bytes':>12}")
    for label, size, median, p90, queries, body in rows:
        print(f"{label:<18}{size:>8,}{median:>12.1f}{p90:>10.1f}{queries:>9}{body:>12,}")
    for label in ("tasks?limit=200", "snapshot"):
        counts = {row[4] for row in rows if row[0] == label}
        verdict = "same at every size" if len(counts) == 1 else f"VARIES: {sorted(counts)}"
        print(f"queries of {label}: {verdict}")
    return 0 if all(len({r[4] for r in rows if r[0] == label}) == 1 for label in ("tasks?limit=200", "snapshot")) \
        else 1


if __name__ == "__main__":
    sys.exit(main())
