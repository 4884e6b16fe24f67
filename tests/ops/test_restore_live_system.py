"""A restore looks before it replaces: it refuses while other sessions or workers use the
database (naming them) unless --force, and says what it will discard."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from ops.backups.create import create_backup
from ops.backups.target import target_for
from ops.models import WorkerHeartbeat
from tests.conftest import make_board, make_org, make_task, require_postgres
from tests.ops.test_backup import _Buffer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def backup_state_file(settings, tmp_path):
    settings.BACKUP_STATE_FILE = tmp_path / "state" / "last-backup.json"


@pytest.fixture
def backup(tmp_path):
    board = make_board(make_org("Backed up"), "Board")
    make_task(board, "one")
    make_task(board, "two")
    return create_backup(target_for(), output_dir=tmp_path / "backups")


def test_restore_refuses_while_a_worker_is_running_and_names_it(backup):
    from agents.models import Task

    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="w-7", hostname="app-1", pid=4242, started_at=now, last_beat_at=now)
    make_task(make_board(make_org("Newer"), "Newer board"), "written after the backup")
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(backup.dump_path), "--yes")
    message = str(refused.value)
    assert "in use by 1 other session(s) or worker(s)" in message
    assert "db_worker w-7 on app-1 (pid 4242)" in message
    assert "--force" in message
    assert Task.objects.filter(title="written after the backup").exists()


def test_a_worker_gone_quiet_does_not_hold_up_a_restore(backup, settings):
    from datetime import timedelta

    settings.WORKER_GONE_AFTER_SECONDS = 30
    long_ago = timezone.now() - timedelta(minutes=5)
    WorkerHeartbeat.objects.create(worker_id="dead", started_at=long_ago, last_beat_at=long_ago)
    call_command("restore", str(backup.dump_path), "--yes", stdout=_Buffer())


def test_force_restores_anyway_and_the_output_says_what_was_discarded(backup):
    from agents.models import Task

    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="w-8", started_at=now, last_beat_at=now)
    make_task(make_board(make_org("Newer"), "Newer board"), "written after the backup")
    buffer = _Buffer()
    call_command("restore", str(backup.dump_path), "--yes", "--force", stdout=buffer)
    assert sorted(Task.objects.values_list("title", flat=True)) == ["one", "two"]
    assert "Discarding what was written since the backup" in buffer.text
    assert any(line.split() == ["agents_task", "3", "->", "2"] for line in buffer.text.splitlines()), buffer.text
    assert any(line.split() == ["agents_board", "2", "->", "1"] for line in buffer.text.splitlines()), buffer.text


def test_restore_refuses_while_another_postgres_session_is_connected(backup):
    require_postgres()
    import psycopg

    settings_dict = connection.settings_dict
    other = psycopg.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"],
                            password=settings_dict["PASSWORD"] or None, host=settings_dict["HOST"] or None,
                            port=settings_dict["PORT"] or None, application_name="gunicorn worker 3")
    try:
        with pytest.raises(CommandError) as refused:
            call_command("restore", str(backup.dump_path), "--yes")
        assert f"Postgres session {other.info.backend_pid} 'gunicorn worker 3'" in str(refused.value)
    finally:
        other.close()
