"""manage.py restore and restore_drill: verification, refusals, migrate after restore, drills."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ops.backups import postgres
from ops.backups.create import create_backup
from ops.backups.drill import run_drill
from ops.backups.manifest import sha256_of
from ops.backups.restore import restore_backup, tables_with_data
from ops.backups.target import pg_connect, target_for
from ops.backups.upgrade import pending_migrations
from ops.signals import operation_recorded
from tests.conftest import database_engine, make_board, make_org, make_task, require_postgres
from tests.ops.test_backup import _Buffer, populate_every_model, snapshot


@pytest.fixture(autouse=True)
def backup_state_file(settings, tmp_path):
    settings.BACKUP_STATE_FILE = tmp_path / "state" / "last-backup.json"


@pytest.fixture
def backup(db, tmp_path):
    """A backup of a database holding one board with two tasks."""
    board = make_board(make_org("Backed up"), "Board")
    make_task(board, "one")
    make_task(board, "two")
    return create_backup(target_for(), output_dir=tmp_path / "backups")


@pytest.fixture
def scratch_name() -> str:
    return f"mc_backup_drill_{secrets.token_hex(4)}"


def scratch_exists(name: str) -> bool:
    with pg_connect(target_for().with_name(postgres.MAINTENANCE_DATABASE)) as maintenance:
        return maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def rewrite_manifest(dump: Path, **changes) -> None:
    manifest_path = dump.with_name(dump.name + ".manifest.json")
    data = json.loads(manifest_path.read_text())
    data.update(changes)
    manifest_path.write_text(json.dumps(data))


# --- restore --------------------------------------------------------------------------------


pytestmark = pytest.mark.django_db(transaction=True)


def test_restore_refuses_a_database_that_holds_data_without_yes(backup):
    from agents.models import Task

    make_task(make_board(make_org("Newer"), "Newer board"), "written after the backup")
    with pytest.raises(CommandError, match=r"is not empty \(rows in .*agents_.*run again with --yes"):
        call_command("restore", str(backup.dump_path))
    assert Task.objects.filter(title="written after the backup").exists()


def test_restore_with_yes_replaces_the_data_and_prints_row_counts(backup):
    from agents.models import Task

    make_task(make_board(make_org("Newer"), "Newer board"), "written after the backup")
    buffer = _Buffer()
    call_command("restore", str(backup.dump_path), "--yes", stdout=buffer)
    assert sorted(Task.objects.values_list("title", flat=True)) == ["one", "two"]
    assert "agents_task" in buffer.text and "Restored" in buffer.text
    assert any(line.split() == ["agents_task", "2"] for line in buffer.text.splitlines())


def test_restore_accepts_the_manifest_path_as_well(backup):
    call_command("flush", interactive=False, verbosity=0)
    call_command("restore", str(backup.manifest_path), stdout=_Buffer())
    from agents.models import Task
    assert Task.objects.count() == 2


def test_a_tampered_backup_is_refused_and_the_database_is_untouched(backup):
    from agents.models import Task

    data = bytearray(backup.dump_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup.dump_path.write_bytes(bytes(data))
    make_task(Task.objects.first().board, "still here")
    with pytest.raises(CommandError, match="Checksum mismatch .* was altered"):
        call_command("restore", str(backup.dump_path), "--yes")
    assert Task.objects.filter(title="still here").exists()


def test_a_truncated_backup_is_refused_by_restore(backup):
    backup.dump_path.write_bytes(backup.dump_path.read_bytes()[:100])
    with pytest.raises(CommandError, match="is 100 bytes but its manifest says .* truncated"):
        call_command("restore", str(backup.dump_path), "--yes")


def test_a_backup_without_its_manifest_is_refused(backup):
    backup.manifest_path.unlink()
    with pytest.raises(CommandError, match="has no manifest"):
        call_command("restore", str(backup.dump_path), "--yes")


def test_a_missing_backup_file_is_named(tmp_path):
    with pytest.raises(CommandError, match="No backup file at"):
        call_command("restore", str(tmp_path / "nothing.dump"), "--yes")


def test_a_backup_of_the_other_engine_is_refused(backup):
    other = "sqlite" if database_engine() == "postgresql" else "postgresql"
    rewrite_manifest(backup.dump_path, engine=other)
    with pytest.raises(CommandError, match=f"is a {other} backup but the configured database is"):
        call_command("restore", str(backup.dump_path), "--yes")


def test_restore_records_an_activity_event(backup):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    operation_recorded.connect(receiver)
    try:
        restore_backup(backup.dump_path, assume_yes=True)
    finally:
        operation_recorded.disconnect(receiver)
    assert [event["event_type"] for event in seen] == ["ops.restore"]
    assert seen[0]["data"]["row_counts"]["agents_task"] == 2


def test_an_older_backup_is_migrated_to_the_current_schema_after_restore(tmp_path):
    call_command("migrate", "webhooks", "zero", verbosity=0)
    try:
        board = make_board(make_org("Old"), "Old board")
        make_task(board, "from the old release")
        old = create_backup(target_for(), output_dir=tmp_path / "backups")
        assert not any(app == "webhooks" for app, _ in old.manifest.migrations)
    finally:
        call_command("migrate", verbosity=0)
    from webhooks.models import Webhook
    Webhook.objects.create(board=board, description="made by the new release")

    restore_backup(old.dump_path, assume_yes=True)

    assert pending_migrations() == []
    from agents.models import Task
    assert list(Task.objects.values_list("title", flat=True)) == ["from the old release"]
    assert Webhook.objects.count() == 0
    with connection.cursor() as cursor:
        assert "webhooks_webhook" in connection.introspection.table_names(cursor)


def test_tables_with_data_ignores_what_migrate_fills_in():
    call_command("flush", interactive=False, verbosity=0)
    assert tables_with_data() == []


# --- restore drill ------------------------------------------------------------------------------


def test_a_drill_on_a_good_backup_passes(backup, scratch_name):
    buffer = _Buffer()
    call_command("restore_drill", str(backup.dump_path), "--scratch-db", scratch_name, stdout=buffer)
    assert "Restore drill passed" in buffer.text
    assert "rows match the manifest" in buffer.text


def test_a_drill_on_a_truncated_backup_fails(backup, scratch_name):
    backup.dump_path.write_bytes(backup.dump_path.read_bytes()[: backup.manifest.size // 2])
    with pytest.raises(CommandError, match="Restore drill FAILED .*truncated"):
        call_command("restore_drill", str(backup.dump_path), "--scratch-db", scratch_name)


def test_a_drill_fails_on_a_truncated_backup_even_when_its_manifest_was_rewritten_to_match(
        backup, scratch_name):
    # A dump cut short before its checksum was taken: only actually restoring it tells.
    backup.dump_path.write_bytes(backup.dump_path.read_bytes()[: backup.manifest.size // 2])
    rewrite_manifest(backup.dump_path, size=backup.dump_path.stat().st_size,
                     sha256=sha256_of(backup.dump_path))
    result = run_drill(backup.dump_path, scratch_name=scratch_name)
    assert not result.ok
    assert any(word in result.problems[0] for word in ("malformed", "end of file")), result.problems


def test_a_drill_fails_when_row_counts_differ_from_the_manifest(backup, scratch_name):
    counts = dict(backup.manifest.row_counts, agents_task=3)
    rewrite_manifest(backup.dump_path, row_counts=counts)
    result = run_drill(backup.dump_path, scratch_name=scratch_name)
    assert result.problems == ["agents_task: 2 rows restored, the manifest says 3"]


def test_a_drill_fails_when_migrations_differ_from_the_manifest(backup, scratch_name):
    migrations = [*backup.manifest.migrations, ["agents", "9999_from_the_future"]]
    rewrite_manifest(backup.dump_path, migrations=migrations)
    result = run_drill(backup.dump_path, scratch_name=scratch_name)
    assert len(result.problems) == 1
    assert "missing: agents.9999_from_the_future" in result.problems[0]


def test_a_drill_leaves_the_live_database_alone(backup, scratch_name):
    from agents.models import Task

    make_task(Task.objects.first().board, "not in the backup")
    before = snapshot()
    assert run_drill(backup.dump_path, scratch_name=scratch_name).ok
    assert snapshot() == before


@pytest.mark.postgres
def test_a_postgres_drill_drops_its_scratch_database_whatever_happens(backup, scratch_name):
    require_postgres()
    assert run_drill(backup.dump_path, scratch_name=scratch_name).ok
    assert not scratch_exists(scratch_name)
    rewrite_manifest(backup.dump_path, row_counts={"agents_task": 99})
    assert not run_drill(backup.dump_path, scratch_name=scratch_name).ok
    assert not scratch_exists(scratch_name)


def test_a_drill_of_a_full_dataset_passes(tmp_path, scratch_name):
    populate_every_model()
    result = create_backup(target_for(), output_dir=tmp_path / "backups")
    drill = run_drill(result.dump_path, scratch_name=scratch_name)
    assert drill.ok, drill.problems
    assert drill.rows_checked == sum(result.manifest.row_counts.values())


def test_a_sqlite_file_is_backed_up_and_drilled_whatever_database_is_configured(tmp_path):
    import sqlite3
    from contextlib import closing

    from ops.backups.target import SQLITE, DatabaseTarget

    database = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(database)) as other:
        other.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT, applied TEXT)")
        other.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('agents', '0001_initial', '')")
        other.execute("CREATE TABLE notes (body TEXT)")
        other.executemany("INSERT INTO notes VALUES (?)", [("a",), ("b",), ("c",)])
        other.commit()
    backup = create_backup(DatabaseTarget(SQLITE, str(database)), output_dir=tmp_path / "backups")
    assert backup.manifest.row_counts == {"django_migrations": 1, "notes": 3}
    assert backup.manifest.migrations == [["agents", "0001_initial"]]
    drill = run_drill(backup.dump_path)
    assert drill.ok, drill.problems
    assert drill.rows_checked == 4


def test_a_refused_restore_is_recorded_as_a_failed_operation(backup):
    from agents.models import ActivityEvent

    with pytest.raises(CommandError):
        call_command("restore", str(backup.dump_path))
    event = ActivityEvent.objects.get(event_type="ops.restore")
    assert event.data["ok"] is False
    assert "is not empty" in event.data["error"]
