"""The CI guard: `makemigrations --check --dry-run` (run by scripts/test.sh) fails on a model
change that has no migration, and passes on the tree as committed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

DRIFTED_APP = "tests.ops.test_upgrade_apps.drifted"


@pytest.mark.django_db
def test_makemigrations_check_fails_when_a_model_change_has_no_migration(settings):
    settings.INSTALLED_APPS = [*django_settings.INSTALLED_APPS, DRIFTED_APP]
    output = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("makemigrations", "--check", "--dry-run", stdout=output)
    assert exited.value.code == 1
    assert "upgrade_drifted" in output.getvalue()
    assert "colour" in output.getvalue()


@pytest.mark.django_db
def test_makemigrations_check_passes_on_the_committed_models():
    output = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=output)
    assert "No changes detected" in output.getvalue()
