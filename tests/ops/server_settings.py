"""Settings for the gunicorn the ops tests start: the product's, with the test URLs."""

from missioncontrol.settings import *  # noqa: F403

ROOT_URLCONF = "tests.ops.urls"
