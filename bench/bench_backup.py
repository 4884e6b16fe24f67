"""Backup and restore of a sizeable database: time, dump size and peak memory.

Fixed workload: 100,000 tasks, 100,000 activity events and 10,000 webhook payloads (about
1 KiB of JSON each) in a dedicated database, by default the Postgres database
``mc_backup_bench`` on the server DATABASE_URL names (or 127.0.0.1:5432). Each measured
step runs in a fresh process, and peak resident memory is read as VmHWM from /proc for
the command's Python process and for pg_dump/pg_restore while they run. (getrusage's
ru_maxrss, SELF or CHILDREN, is not usable here: Linux carries it across exec, so a
process spawned from a big parent reports the parent's peak.) Streaming means these
figures stay flat however many rows there are.

    .venv/bin/python bench/bench_backup.py                  # Postgres
    .venv/bin/python bench/bench_backup.py --engine sqlite  # a temporary SQLite file
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mc_backup_bench"
BATCH = 5000


def database_url(engine: str, folder: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/x"
    return base.rsplit("/", 1)[0] + "/" + BENCH_DATABASE


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_postgres_database() -> None:
    from ops.backups import postgres
    from ops.backups.target import target_for

    target = target_for()
    postgres.drop_database(target, BENCH_DATABASE)
    postgres.create_database(target, BENCH_DATABASE)


def drop_postgres_database() -> None:
    from ops.backups import postgres
    from ops.backups.target import target_for

    postgres.drop_database(target_for(), BENCH_DATABASE)


def fill(tasks: int, events: int, payloads: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from agents.models import ActivityEvent, Board, Organization, Task
    from webhooks.models import Webhook, WebhookPayload

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Bench", slug="bench")
    board = Board.objects.create(organization=org, name="Bench board", slug="bench-board")
    webhook = Webhook.objects.create(board=board, description="bench")
    now = timezone.now()
    body = {"action": "opened", "repository": {"full_name": "acme/rocket", "private": False},
            "issue": {"title": "x" * 200, "body": "lorem ipsum " * 50, "labels": ["bug", "p1"]}}
    for start in range(0, tasks, BATCH):
        Task.objects.bulk_create(
            Task(board=board, title=f"Task {n}", description="Something to do. " * 8, created_at=now,
                 updated_at=now) for n in range(start, min(start + BATCH, tasks)))
    for start in range(0, events, BATCH):
        ActivityEvent.objects.bulk_create(
            ActivityEvent(event_type="task.updated", actor_type="system", board_id=board.id,
                          message=f"Task {n} moved to review", data={"n": n, "status": "review"})
            for n in range(start, min(start + BATCH, events)))
    for start in range(0, payloads, BATCH):
        WebhookPayload.objects.bulk_create(
            WebhookPayload(webhook=webhook, board=board, payload={**body, "n": n},
                           headers={"content-type": "application/json"}, content_type="application/json")
            for n in range(start, min(start + BATCH, payloads)))


def peak_rss_kib(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class ChildMemorySampler(threading.Thread):
    """Peak resident memory (VmHWM) of every child process, sampled until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[str, int] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.05):
            self.sample()

    def sample(self) -> None:
        for task in Path("/proc/self/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for pid in children:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                name = fields.get("Name", "?").strip()
                peak_kib = int(fields.get("VmHWM", "0 kB").split()[0])
                self.peaks[name] = max(self.peaks.get(name, 0), peak_kib)


def measure(step: str, argument: str) -> dict[str, Any]:
    """Runs in its own process: one step, then its timing and peak memory."""
    from ops.backups.create import create_backup
    from ops.backups.drill import run_drill
    from ops.backups.restore import restore_backup
    from ops.backups.target import target_for

    rss_before = peak_rss_kib()
    sampler = ChildMemorySampler()
    sampler.start()
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    if step == "backup":
        result = create_backup(target_for(), output_dir=Path(argument))
        figures.update(path=str(result.dump_path), size=result.manifest.size,
                       rows=sum(result.manifest.row_counts.values()))
    elif step == "restore":
        restored = restore_backup(Path(argument), assume_yes=True)
        figures.update(rows=sum(restored.row_counts.values()))
    elif step == "drill":
        drill = run_drill(Path(argument), scratch_name=f"{BENCH_DATABASE}_drill")
        figures.update(ok=drill.ok, problems=drill.problems, rows=drill.rows_checked)
    seconds = round(time.perf_counter() - started, 2)
    sampler.stopping.set()
    sampler.join()
    figures.update(
        seconds=seconds,
        python_rss_before_mib=round(rss_before / 1024, 1),
        python_peak_rss_mib=round(peak_rss_kib() / 1024, 1),
        tool_peak_rss_mib=round(max((kib for name, kib in sampler.peaks.items() if name.startswith("pg_")),
                                    default=0) / 1024, 1),
    )
    return figures


def step_environment(url: str, folder: Path) -> dict[str, str]:
    """The bench database, and a backup folder inside the temporary one: the steps must
    never write the checkout's var/backups or its last-backup marker, which /readyz reads."""
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "missioncontrol.settings",
            "BACKUP_DIR": str(folder / "backups")}


def run_step(step: str, argument: str, url: str, folder: Path) -> dict[str, Any]:
    env = step_environment(url, folder)
    completed = subprocess.run([sys.executable, __file__, "--measure", step, argument], env=env,
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{step} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--payloads", type=int, default=10_000)
    parser.add_argument("--measure", nargs=2, metavar=("STEP", "ARG"), help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.measure:
        setup_django(os.environ["DATABASE_URL"])
        from django.conf import settings

        # The child reads settings afresh; BACKUP_DIR came from step_environment.
        settings.BACKUP_STATE_FILE = Path(settings.BACKUP_DIR) / "last-backup.json"
        print(json.dumps(measure(*options.measure)))
        return

    folder = Path(tempfile.mkdtemp(prefix="mc-backup-bench-"))
    url = database_url(options.engine, folder)
    setup_django(url)
    try:
        if options.engine == "postgres":
            recreate_postgres_database()
        started = time.perf_counter()
        fill(options.tasks, options.events, options.payloads)
        print(f"workload: {options.tasks} tasks, {options.events} activity events, {options.payloads} "
              f"webhook payloads on {options.engine} (filled in {time.perf_counter() - started:.1f}s)")
        from django.db import connections

        connections.close_all()
        backup = run_step("backup", str(folder / "backups"), url, folder)
        drill = run_step("drill", backup["path"], url, folder)
        restore = run_step("restore", backup["path"], url, folder)
        print(f"dump size: {backup['size'] / 1024 / 1024:.1f} MiB ({backup['rows']} rows)")
        print(f"{'step':<8} {'seconds':>8} {'python rss at start':>18} {'python peak rss':>16} {'tool peak rss':>14}")
        for name, figures in (("backup", backup), ("drill", drill), ("restore", restore)):
            tool = f"{figures['tool_peak_rss_mib']:>10} MiB" if figures["tool_peak_rss_mib"] else f"{'-':>14}"
            print(f"{name:<8} {figures['seconds']:>8} {figures['python_rss_before_mib']:>14} MiB "
                  f"{figures['python_peak_rss_mib']:>12} MiB {tool}")
        if not drill["ok"]:
            raise SystemExit(f"drill failed: {drill['problems']}")
    finally:
        from django.db import connections

        connections.close_all()
        if options.engine == "postgres":
            drop_postgres_database()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
