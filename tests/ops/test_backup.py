"""manage.py backup: dumps, manifests, retention, the lock, and every refusal."""

from __future__ import annotations

import datetime as dt
import decimal
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.utils import timezone

from ops.backups import BackupError, postgres
from ops.backups.create import create_backup
from ops.backups.lock import LOCK_NAME, backup_lock
from ops.backups.manifest import sha256_of
from ops.backups.restore import restore_backup
from ops.backups.retention import expired, parse_age, stored_backups
from ops.backups.target import POSTGRES, SQLITE, DatabaseTarget, target_for
from ops.signals import operation_recorded
from tests.conftest import database_engine, require_postgres, require_sqlite

# The apps whose every model the round trip fills; new models there are covered automatically.
DATA_APPS = ("agents", "webhooks")
# The models the product promises to protect; a rename or removal must be noticed here.
PROMISED_MODELS = {
    "agents.Organization", "agents.Membership", "agents.User", "agents.Gateway", "agents.Board",
    "agents.Agent", "agents.Task", "agents.TaskDependency", "agents.TaskComment", "agents.Approval",
    "agents.ApprovalTask", "agents.BoardMemory", "agents.Tag", "agents.ActivityEvent",
    "webhooks.Webhook", "webhooks.WebhookPayload", "webhooks.WebhookDelivery",
}


# --- data of every model -----------------------------------------------------------------


def _value_for(field: models.Field, serial: int):
    if field.choices:
        return list(field.choices)[-1][0]
    if isinstance(field, models.BooleanField):
        return field.get_default()
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.JSONField):
        return {"n": serial, "text": "ünïcode \"quoted\" 'single'\nnew line", "list": [1, 2.5, None, True]}
    if isinstance(field, models.DateTimeField):
        return timezone.now() - dt.timedelta(days=serial, microseconds=serial * 1234)
    if isinstance(field, models.DateField):
        return dt.date(2026, 1, 1 + serial % 28)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1.25")
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 7 + serial
    if isinstance(field, models.EmailField):
        return f"person{serial}@example.test"
    if isinstance(field, models.SlugField):
        return f"slug-{serial}-{uuid.uuid4().hex[:8]}"
    if isinstance(field, (models.CharField, models.TextField)):
        text = f"{field.name} {serial} ✓ {uuid.uuid4().hex}"
        return text[: field.max_length] if field.max_length else text + "\nsecond line with 'quotes' and \\"
    if field.null:
        return None
    raise AssertionError(f"no test value for {field.model.__name__}.{field.name} ({type(field).__name__})")


class ModelFiller:
    """Creates rows for any model by filling every concrete field, following foreign keys."""

    def __init__(self) -> None:
        self.serial = 0

    def make(self, model: type[models.Model]) -> models.Model:
        self.serial += 1
        values = {}
        for field in model._meta.concrete_fields:
            if field.primary_key and (field.has_default() or isinstance(field, models.AutoField)):
                continue
            if field.is_relation:
                values[field.name] = self.make(field.related_model)
            elif field.name in ("is_default", "is_board_lead"):
                continue  # partial unique constraints: one per table or board
            else:
                values[field.name] = _value_for(field, self.serial)
        instance = model._default_manager.create(**values)
        for m2m in model._meta.local_many_to_many:
            if m2m.remote_field.through._meta.auto_created:
                getattr(instance, m2m.name).add(self.make(m2m.related_model))
        return instance


def data_models() -> list[type[models.Model]]:
    found = []
    for label in DATA_APPS:
        found += [model for model in apps.get_app_config(label).get_models()
                  if model._meta.managed and not model._meta.proxy]
    return found


# Tables that hold one row for the whole installation.
SINGLETONS = {"agents.GatewayIdentity"}


def populate_every_model() -> None:
    filler = ModelFiller()
    for model in data_models():
        for _ in range(1 if model._meta.label in SINGLETONS else 2):
            filler.make(model)


def snapshot() -> dict[str, list[dict]]:
    """Every row of every table Django knows (all apps, including m2m link tables)."""
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        queryset = model._default_manager.order_by("pk")
        if model._meta.label == "agents.ActivityEvent":
            # The operations themselves write events; the data under test is everything else.
            queryset = queryset.exclude(event_type__startswith="ops.")
        rows[model._meta.label] = list(queryset.values())
    return rows


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def backup_state_file(settings, tmp_path):
    settings.BACKUP_STATE_FILE = tmp_path / "state" / "last-backup.json"
    return settings.BACKUP_STATE_FILE


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "backups"


def fake_tool(folder: Path, name: str, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


# --- round trip --------------------------------------------------------------------------


def _round_trip(out: Path) -> None:
    populate_every_model()
    before = snapshot()
    for model in data_models():
        assert before[model._meta.label], f"{model._meta.label} has no rows to protect"

    result = create_backup(target_for(), output_dir=out)
    call_command("flush", interactive=False, verbosity=0)
    from agents.models import Task
    assert Task.objects.count() == 0

    restored = restore_backup(result.dump_path)

    assert snapshot() == before
    assert restored.row_counts["agents_task"] == len(before["agents.Task"])


def test_every_promised_model_is_filled_by_the_round_trip():
    assert PROMISED_MODELS <= {model._meta.label for model in data_models()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_round_trip_on_postgres_brings_back_every_row_of_every_model(out):
    require_postgres()
    _round_trip(out)


@pytest.mark.django_db(transaction=True)
def test_round_trip_on_sqlite_brings_back_every_row_of_every_model(out):
    require_sqlite()
    _round_trip(out)


# --- what a backup writes ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_writes_the_dump_and_a_manifest_that_describes_it(out, backup_state_file, board):
    from agents.models import Task

    Task.objects.create(board=board, title="Ship it")
    call_command("backup", "--output-dir", str(out), stdout=(buffer := _Buffer()))

    dumps = [path for path in out.iterdir() if path.name.startswith("missioncontrol-") and
             not path.name.endswith(".json")]
    assert len(dumps) == 1
    dump = dumps[0]
    manifest = json.loads((out / (dump.name + ".manifest.json")).read_text())
    assert manifest["engine"] == database_engine()
    assert manifest["size"] == dump.stat().st_size
    assert manifest["sha256"] == sha256_of(dump)
    assert manifest["app_version"] == "0.1.0"
    assert manifest["row_counts"]["agents_task"] == 1
    assert manifest["row_counts"]["agents_board"] == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        assert manifest["migrations"] == [list(row) for row in cursor.fetchall()]
    assert dump.stat().st_mode & 0o077 == 0, "backups hold secrets and must be private"
    assert "Backup written" in buffer.text
    assert json.loads(backup_state_file.read_text())["created_at"] == manifest["created_at"]
    assert not list(out.glob("*.partial"))


@pytest.mark.django_db(transaction=True)
def test_quiet_backup_prints_nothing(out):
    buffer = _Buffer()
    call_command("backup", "--output-dir", str(out), "--quiet", stdout=buffer)
    assert buffer.text == ""
    assert len(stored_backups(out)) == 1


@pytest.mark.django_db(transaction=True)
def test_backup_records_an_activity_event(out):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    operation_recorded.connect(receiver)
    try:
        result = create_backup(target_for(), output_dir=out)
    finally:
        operation_recorded.disconnect(receiver)
    assert [event["event_type"] for event in seen] == ["ops.backup"]
    assert seen[0]["data"]["path"] == str(result.dump_path)
    assert seen[0]["data"]["sha256"] == result.manifest.sha256


@pytest.mark.django_db(transaction=True)
def test_a_partial_file_left_by_a_crashed_run_is_removed(out):
    out.mkdir()
    leftover = out / "missioncontrol-20200101T000000Z.dump.partial"
    leftover.write_bytes(b"half a dump")
    create_backup(target_for(), output_dir=out)
    assert not leftover.exists()


@pytest.mark.django_db(transaction=True)
def test_a_full_disk_leaves_nothing_under_the_final_name(out, monkeypatch):
    def no_space(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ops.backups.create.write_durably", no_space)
    with pytest.raises(CommandError, match="The disk is full"):
        call_command("backup", "--output-dir", str(out))
    assert [path.name for path in out.iterdir() if path.name != LOCK_NAME] == []


# --- retention ------------------------------------------------------------------------------


def test_ages_are_read_in_seconds_minutes_hours_days_and_weeks():
    assert parse_age("90s") == dt.timedelta(seconds=90)
    assert parse_age("12h") == dt.timedelta(hours=12)
    assert parse_age("7d") == dt.timedelta(days=7)
    assert parse_age("2w") == dt.timedelta(weeks=2)
    for bad in ("7", "d", "0d", "7 days", "-1d"):
        with pytest.raises(ValueError, match="is not an age"):
            parse_age(bad)


def test_a_bad_max_age_is_refused_before_anything_runs(out):
    with pytest.raises(CommandError, match="is not an age"):
        call_command("backup", "--output-dir", str(out), "--max-age", "week")
    assert not out.exists()


@pytest.mark.django_db(transaction=True)
def test_keep_leaves_only_the_newest_backups(out):
    for _ in range(3):
        call_command("backup", "--output-dir", str(out), "--quiet")
    newest = stored_backups(out)[0].dump
    call_command("backup", "--output-dir", str(out), "--quiet", "--keep", "2")
    remaining = stored_backups(out)
    assert len(remaining) == 2
    assert remaining[1].dump == newest
    assert all(backup.manifest.exists() for backup in remaining)
    assert len(list(out.glob("*.manifest.json"))) == 2


@pytest.mark.django_db(transaction=True)
def test_max_age_deletes_old_backups_and_leaves_other_files_alone(out):
    out.mkdir()
    old = out / "missioncontrol-20200101T000000Z.dump"
    old.write_bytes(b"old")
    (out / (old.name + ".manifest.json")).write_text("{}")
    unrelated = out / "notes.txt"
    unrelated.write_text("keep me")
    call_command("backup", "--output-dir", str(out), "--quiet", "--max-age", "7d")
    assert not old.exists()
    assert not (out / (old.name + ".manifest.json")).exists()
    assert unrelated.exists()
    assert len(stored_backups(out)) == 1


def test_retention_never_expires_the_backup_just_made(tmp_path):
    for stamp in ("20260101T000000Z", "20260102T000000Z"):
        (tmp_path / f"missioncontrol-{stamp}.dump").write_bytes(b"x")
    backups = stored_backups(tmp_path)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    doomed = expired(backups, keep=None, max_age=dt.timedelta(days=1), now=now, protect=backups[0].dump)
    assert [backup.dump for backup in doomed] == [backups[1].dump]


# --- the lock ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_backup_while_one_runs_exits_with_the_lock_message(out):
    out.mkdir()
    # A real second process holds the lock, as a still-running cron job would.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({str(out / LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "os.write(fd, str(os.getpid()).encode())\n"
         "print('locked', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CommandError, match="Another backup is already running") as refused:
            call_command("backup", "--output-dir", str(out))
        assert f"pid {holder.pid}" in str(refused.value)
        assert stored_backups(out) == []
    finally:
        holder.kill()
        holder.wait()
    create_backup(target_for(), output_dir=out)
    assert len(stored_backups(out)) == 1


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    with backup_lock(tmp_path):
        with pytest.raises(BackupError, match="Another backup is already running"):
            with backup_lock(tmp_path):
                pass
    with backup_lock(tmp_path):
        pass


# --- pg_dump and the database server --------------------------------------------------------


def test_a_missing_pg_dump_is_named_with_how_to_install_it(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(BackupError, match="pg_dump was not found on PATH.*postgresql-client"):
        postgres.find_tool("pg_dump")


def test_a_pg_dump_older_than_the_server_is_refused(tmp_path):
    old = fake_tool(tmp_path / "bin", "pg_dump", 'echo "pg_dump (PostgreSQL) 12.22 (Debian 12.22-1)"\n')
    with pytest.raises(BackupError, match=r"pg_dump is version 12 .* the server runs PostgreSQL 15"):
        postgres.check_tool_version(str(old), 150020)


def test_a_pg_dump_of_the_same_or_a_newer_major_version_is_accepted(tmp_path):
    tool = fake_tool(tmp_path / "bin", "pg_dump", 'echo "pg_dump (PostgreSQL) 16.4"\n')
    assert "16.4" in postgres.check_tool_version(str(tool), 160001)
    assert "16.4" in postgres.check_tool_version(str(tool), 150020)
    old_style = fake_tool(tmp_path / "bin2", "pg_dump", 'echo "pg_dump (PostgreSQL) 9.6.24"\n')
    with pytest.raises(BackupError, match="version 9.6 "):
        postgres.check_tool_version(str(old_style), 100000)


def test_an_unreachable_postgres_server_is_reported_as_such(out):
    nowhere = DatabaseTarget(POSTGRES, "mc_backup", host="127.0.0.1", port="18799", user="postgres")
    with pytest.raises(BackupError, match="Cannot reach the Postgres database 'mc_backup' on 127.0.0.1:18799"):
        create_backup(nowhere, output_dir=out)
    assert stored_backups(out) == []


def test_a_missing_sqlite_file_is_reported_as_unreachable(out, tmp_path):
    missing = DatabaseTarget(SQLITE, str(tmp_path / "nowhere" / "db.sqlite3"))
    with pytest.raises(BackupError, match="Cannot reach the SQLite .* the file does not exist"):
        create_backup(missing, output_dir=out)
    assert not list(out.glob("missioncontrol-*"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_backup_command_refuses_an_old_pg_dump_on_path(out, tmp_path, monkeypatch):
    require_postgres()
    fake_tool(tmp_path / "bin", "pg_dump", 'echo "pg_dump (PostgreSQL) 9.6.24"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CommandError, match="older pg_dump cannot dump a newer server"):
        call_command("backup", "--output-dir", str(out))
    assert not list(out.glob("missioncontrol-*"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_backup_command_names_a_missing_pg_dump(out, tmp_path, monkeypatch):
    require_postgres()
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(CommandError, match="pg_dump was not found on PATH"):
        call_command("backup", "--output-dir", str(out))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_running_out_of_disk_leaves_no_file_and_says_the_disk_is_full(out, tmp_path, monkeypatch):
    require_postgres()
    real = shutil.which("pg_dump")
    fake_tool(tmp_path / "bin", "pg_dump", f"""
if [ "$1" = "--version" ]; then exec {real} --version; fi
for arg in "$@"; do case "$arg" in --file=*) printf 'PGDMP partial' > "${{arg#--file=}}";; esac; done
echo 'pg_dump: error: could not write to output file: No space left on device' >&2
exit 1
""")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CommandError, match="The disk is full"):
        call_command("backup", "--output-dir", str(out))
    assert [path.name for path in out.iterdir() if path.name != LOCK_NAME] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_password_travels_in_the_environment_not_in_argv(out, tmp_path, monkeypatch):
    require_postgres()
    real = shutil.which("pg_dump")
    log = tmp_path / "argv.txt"
    fake_tool(tmp_path / "bin", "pg_dump", f'echo "$@" >> {log}\necho "PGPASSWORD=$PGPASSWORD" >> {log}\n'
                                             f'exec {real} "$@"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    target = target_for()
    secret_target = DatabaseTarget(**{**target.__dict__, "password": "s3cret-pw"})
    create_backup(secret_target, output_dir=out)
    lines = log.read_text().splitlines()
    dump_line = next(line for line in lines if "--format=custom" in line)
    assert "s3cret-pw" not in dump_line
    assert "PGPASSWORD=s3cret-pw" in lines


class _Buffer:
    """A stdout for call_command that keeps what was written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


# --- readiness ---------------------------------------------------------------------------------


@pytest.fixture
def backup_check():
    """Registered at start-up; registered again here because other tests may replace a check
    of the same name and unregister it afterwards."""
    from ops.backups import readiness

    readiness.register()


def test_readiness_shows_that_no_backup_was_recorded_yet(backup_state_file, backup_check):
    from ops.probes import readiness

    with _no_database_checks():
        check = readiness()["checks"]["backup"]
    assert check["ok"] is True
    assert check["last_success_at"] is None


@pytest.mark.django_db(transaction=True)
def test_readiness_shows_the_time_of_the_last_successful_backup(out, client, backup_check):
    result = create_backup(target_for(), output_dir=out)
    response = client.get("/readyz")
    check = response.json()["checks"]["backup"]
    assert check["ok"] is True
    assert check["status"] == "ok"
    assert check["last_success_at"] == result.manifest.created_at
    assert check["size"] == result.manifest.size
    assert 0 <= check["age_seconds"] < 120


def test_the_backup_marker_names_the_database_without_its_password(out, backup_state_file):
    from ops.backups import state

    target = DatabaseTarget(engine=POSTGRES, name="mc", host="db.internal", port="5433", user="mc",
                            password="s3cret")
    state.record_success(out / "mc.dump", "2026-01-02T03:04:05Z", 10, target)
    marker = json.loads(backup_state_file.read_text())
    assert marker["database"] == {"engine": "postgresql", "name": "mc", "host": "db.internal", "port": "5433"}
    assert "s3cret" not in backup_state_file.read_text()


@pytest.mark.django_db
def test_readiness_ignores_a_backup_of_another_database(out, backup_state_file, backup_check, client):
    from ops.backups import state

    other = DatabaseTarget(engine=SQLITE, name="/tmp/some-other-database.sqlite3")
    state.record_success(out / "other.sqlite3", "2026-01-02T03:04:05Z", 10, other)
    check = client.get("/readyz").json()["checks"]["backup"]
    assert check["last_success_at"] is None
    assert state.last_success() is None


@pytest.mark.django_db
def test_readiness_ignores_a_marker_that_does_not_say_which_database(backup_state_file, backup_check, client):
    backup_state_file.parent.mkdir(parents=True)
    backup_state_file.write_text(json.dumps({"created_at": "2026-01-02T03:04:05Z", "path": "/tmp/x", "size": 1}))
    assert client.get("/readyz").json()["checks"]["backup"]["last_success_at"] is None


@pytest.mark.django_db
def test_a_marker_for_this_database_is_read_back(out, backup_state_file):
    from ops.backups import state

    state.record_success(out / "mc.dump", "2026-01-02T03:04:05Z", 10, target_for())
    assert state.last_success()["created_at"] == "2026-01-02T03:04:05Z"


def test_the_backup_benchmark_keeps_its_marker_in_its_own_folder(tmp_path):
    # Its steps run in child processes that read settings afresh; a marker set only in the
    # parent let them write the checkout's var/last-backup.json, which /readyz then showed.
    import importlib.util

    from django.conf import settings

    bench_path = Path(__file__).resolve().parents[2] / "bench" / "bench_backup.py"
    spec = importlib.util.spec_from_file_location("bench_backup", bench_path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    real_marker = settings.VAR_DIR / "last-backup.json"
    before = real_marker.read_bytes() if real_marker.exists() else None
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    with closing(sqlite3.connect(tmp_path / "bench.sqlite3")) as database:
        database.execute("CREATE TABLE t (x)")
    completed = subprocess.run([sys.executable, str(bench_path), "--measure", "backup", str(tmp_path / "out")],
                               env=bench.step_environment(url, tmp_path), capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    marker = json.loads((tmp_path / "backups" / "last-backup.json").read_text())
    assert marker["path"].startswith(str(tmp_path / "out"))
    assert (real_marker.read_bytes() if real_marker.exists() else None) == before


def _no_database_checks():
    """Run only the backup check: the others need a database this test does not ask for."""
    from unittest import mock

    from ops import probes

    only_backup = {name: check for name, check in probes._checks.items() if name == "backup"}
    return mock.patch.dict(probes._checks, only_backup, clear=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_long_pg_dump_reports_progress_as_the_file_grows(out, tmp_path, monkeypatch):
    require_postgres()
    real = shutil.which("pg_dump")
    # A dump that takes a while: the real one, then a pause before exiting.
    fake_tool(tmp_path / "bin", "pg_dump", f'{real} "$@" || exit $?\nsleep 0.5\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(postgres, "BYTES_PROGRESS_SECONDS", 0.1)
    lines = []
    create_backup(target_for(), output_dir=out, progress=lines.append)
    assert any(line.strip().endswith("MiB written") for line in lines)
    assert any(line.strip().startswith("dumped agents_task (") for line in lines)


def test_a_sqlite_backup_reports_pages_copied_as_it_goes(out, tmp_path, monkeypatch):
    import sqlite3
    from contextlib import closing

    from ops.backups import sqlite as sqlite_backup

    database = tmp_path / "big.sqlite3"
    with closing(sqlite3.connect(database)) as raw:
        raw.execute("CREATE TABLE blobs (body BLOB)")
        raw.executemany("INSERT INTO blobs VALUES (?)", [(os.urandom(4000),) for _ in range(50)])
        raw.commit()
    monkeypatch.setattr(sqlite_backup, "PAGES_PER_STEP", 5)
    monkeypatch.setattr(sqlite_backup, "PROGRESS_EVERY_SECONDS", 0.0)
    lines = []
    result = create_backup(DatabaseTarget(SQLITE, str(database)), output_dir=out, progress=lines.append)
    copied = [line.strip() for line in lines if line.strip().startswith("copied")]
    assert len(copied) >= 5
    assert copied[-1].endswith("(100%)")
    assert result.manifest.row_counts == {"blobs": 50}


@pytest.mark.django_db(transaction=True)
def test_a_failed_backup_is_recorded_as_a_failed_operation(out):
    from agents.models import ActivityEvent

    out.mkdir()
    with backup_lock(out), pytest.raises(BackupError):
        create_backup(target_for(), output_dir=out)
    event = ActivityEvent.objects.get(event_type="ops.backup")
    assert event.data["ok"] is False
    assert "Another backup is already running" in event.data["error"]
