"""manage.py upgrade: pending migrations, the backup first, warnings, and the way back on failure."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.migrations.recorder import MigrationRecorder

from ops.backups.manifest import verify
from ops.backups.retention import stored_backups
from ops.backups.upgrade import pending_migrations
from ops.signals import operation_recorded
from tests.conftest import make_board, make_org, make_task
from tests.ops.test_backup import _Buffer

PROBE_APP = "tests.ops.test_upgrade_apps.probe"
PROBE_MIGRATIONS = "tests.ops.test_upgrade_apps.probe.migrations_{}"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def backup_state_file(settings, tmp_path):
    settings.BACKUP_STATE_FILE = tmp_path / "state" / "last-backup.json"


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "backups"


@pytest.fixture
def events():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    operation_recorded.connect(receiver)
    yield seen
    operation_recorded.disconnect(receiver)


@pytest.fixture
def probe_app(settings):
    """Installs the throwaway app; ``probe_app("failing")`` picks its migrations."""

    def install(migrations: str) -> None:
        settings.MIGRATION_MODULES = {"upgrade_probe": PROBE_MIGRATIONS.format(migrations)}
        settings.INSTALLED_APPS = [*django_settings.INSTALLED_APPS, PROBE_APP]

    yield install
    MigrationRecorder.Migration.objects.filter(app="upgrade_probe").delete()


@pytest.fixture
def webhooks_unmigrated():
    """The database as the previous release left it: the webhooks app not migrated yet."""
    call_command("migrate", "webhooks", "zero", verbosity=0)
    yield
    call_command("migrate", verbosity=0)


def test_upgrade_from_an_older_migration_takes_a_backup_then_migrates(webhooks_unmigrated, out, events):
    make_task(make_board(make_org("Acme"), "Board"), "kept")
    buffer = _Buffer()

    call_command("upgrade", "--no-input", "--output-dir", str(out), stdout=buffer)

    assert "pending migration(s)" in buffer.text
    assert "webhooks.0001_initial" in buffer.text
    assert pending_migrations() == []
    (backup,) = stored_backups(out)
    _, manifest = verify(backup.dump)
    assert not any(app == "webhooks" for app, _ in manifest.migrations)
    assert manifest.row_counts["agents_task"] == 1
    assert f"Backup taken: {backup.dump}" in buffer.text
    assert "Upgrade done" in buffer.text
    upgrade_events = [event for event in events if event["event_type"] == "ops.upgrade"]
    assert upgrade_events[0]["data"]["ok"] is True
    assert "webhooks.0001_initial" in upgrade_events[0]["data"]["applied"]
    assert upgrade_events[0]["data"]["backup"] == str(backup.dump)


def test_upgrade_with_nothing_pending_changes_nothing(out):
    buffer = _Buffer()
    call_command("upgrade", "--no-input", "--output-dir", str(out), stdout=buffer)
    assert "No pending migrations" in buffer.text
    assert not out.exists()


def test_upgrade_without_backup_takes_none(webhooks_unmigrated, out):
    buffer = _Buffer()
    call_command("upgrade", "--no-input", "--no-backup", "--output-dir", str(out), stdout=buffer)
    assert "Skipping the backup" in buffer.text
    assert pending_migrations() == []
    assert not out.exists()


def test_a_failing_migration_leaves_the_backup_and_prints_the_restore_command(probe_app, out, events):
    probe_app("failing")
    make_task(make_board(make_org("Acme"), "Board"), "before the upgrade")

    with pytest.raises(CommandError) as failed:
        call_command("upgrade", "--no-input", "--output-dir", str(out), stdout=_Buffer())

    message = str(failed.value)
    assert "Migrating failed: RuntimeError: boom: the data does not fit the new schema" in message
    (backup,) = stored_backups(out)
    verify(backup.dump)
    command_line = next(line.strip() for line in message.splitlines() if " restore " in line)
    argv = shlex.split(command_line)
    assert argv[:2] == [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py")]
    assert argv[2:] == ["restore", str(backup.dump), "--yes", "--no-migrate"]
    assert [event["data"]["ok"] for event in events if event["event_type"] == "ops.upgrade"] == [False]

    # The printed command really puts the database back, with the new release still installed.
    from agents.models import Task
    Task.objects.all().delete()
    call_command(*argv[2:], stdout=_Buffer())
    assert list(Task.objects.values_list("title", flat=True)) == ["before the upgrade"]
    assert [migration.label for migration in pending_migrations()] == ["upgrade_probe.0001_fails"]


def test_an_irreversible_migration_is_announced_and_needs_a_yes(probe_app, out, monkeypatch):
    probe_app("irreversible")
    answers = []
    monkeypatch.setattr("builtins.input", lambda prompt: answers.append(prompt) or "no")
    buffer = _Buffer()

    with pytest.raises(CommandError, match="Upgrade cancelled; nothing was changed"):
        call_command("upgrade", "--output-dir", str(out), stdout=buffer)

    assert "upgrade_probe.0001_one_way  (cannot be reversed)" in buffer.text
    assert "WARNING: these migrations cannot be reversed" in buffer.text
    assert "upgrade_probe.0001_one_way: Raw Python operation" in buffer.text
    assert "upgrade_probe.0001_one_way: Raw SQL operation" in buffer.text
    assert len(answers) == 1
    assert [migration.label for migration in pending_migrations()] == ["upgrade_probe.0001_one_way"]
    assert not out.exists()


def test_an_irreversible_migration_is_applied_after_a_yes(probe_app, out, monkeypatch):
    probe_app("irreversible")
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("upgrade", "--output-dir", str(out), stdout=_Buffer())
    assert pending_migrations() == []
    assert len(stored_backups(out)) == 1


def test_no_input_applies_an_irreversible_migration_with_the_warning_only(probe_app, out, monkeypatch):
    probe_app("irreversible")
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("--no-input must not prompt"))
    buffer = _Buffer()
    call_command("upgrade", "--no-input", "--output-dir", str(out), stdout=buffer)
    assert "WARNING: these migrations cannot be reversed" in buffer.text
    assert pending_migrations() == []


@pytest.mark.slow
def test_a_fresh_database_is_migrated_without_a_backup_of_nothing(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
           "BACKUP_DIR": str(tmp_path / "backups")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "upgrade", "--no-input"]
    first = subprocess.run(manage, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    assert "The database has no tables yet; there is nothing to back up." in first.stdout
    assert "Upgrade done" in first.stdout
    second = subprocess.run(manage, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr
    assert "No pending migrations" in second.stdout
    assert not (tmp_path / "backups").exists()


def test_the_run_command_upgrades_through_the_safe_path_when_auto_migrate_is_on():
    script = (Path(django_settings.BASE_DIR) / "scripts" / "run.sh").read_text()
    assert "manage.py upgrade --no-input" in script
    assert "manage.py migrate" not in script


def test_without_a_terminal_an_irreversible_migration_is_not_applied(probe_app, out, monkeypatch):
    probe_app("irreversible")

    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    with pytest.raises(CommandError, match="Upgrade cancelled"):
        call_command("upgrade", "--output-dir", str(out), stdout=_Buffer())
    assert [migration.label for migration in pending_migrations()] == ["upgrade_probe.0001_one_way"]


def test_every_upgrade_writes_an_activity_event_row(webhooks_unmigrated, out):
    from agents.models import ActivityEvent

    call_command("upgrade", "--no-input", "--output-dir", str(out), stdout=_Buffer())
    types = set(ActivityEvent.objects.values_list("event_type", flat=True))
    assert {"ops.backup", "ops.upgrade"} <= types
