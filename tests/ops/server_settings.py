"""Settings for the gunicorn the ops tests start: the test suite's, with the test URLs."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.ops.urls"
