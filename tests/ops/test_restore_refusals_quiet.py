"""A restore refused before it touches anything says why, and only that: no traceback of
the audit write that a database without tables cannot take."""

from __future__ import annotations

import subprocess

import pytest

from ops.backups.create import create_backup
from ops.backups.target import target_for
from tests.conftest import make_board, make_org
from tests.ops import servers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_restore_into_an_empty_database_prints_only_the_refusal(tmp_path, settings):
    settings.BACKUP_STATE_FILE = tmp_path / "state" / "last-backup.json"
    make_board(make_org("Backed up"), "Board")
    dump = create_backup(target_for(), output_dir=tmp_path / "backups").dump_path
    with dump.open("r+b") as handle:  # tampered: the checksum no longer matches
        handle.seek(0, 2)
        handle.write(b"tampered")
    env = servers.clean_env({"DJANGO_SETTINGS_MODULE": "tests.settings",
                             "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    result = subprocess.run([servers.PYTHON, "manage.py", "restore", str(dump)], cwd=servers.REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("CommandError: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
