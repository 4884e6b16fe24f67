"""The product's WSGI application with the rate limiter's clock stopped at
``TEST_THROTTLE_CLOCK`` (seconds since the epoch): a test's burst against a real server is
counted in one window, whatever the wall clock says. gunicorn loads it in the master
(``preload_app``), so every worker it forks shares the stopped clock."""

from __future__ import annotations

import os

from missioncontrol.wsgi import application
from ops import throttle

_NOW = float(os.environ["TEST_THROTTLE_CLOCK"])
throttle.clock = lambda: _NOW

__all__ = ["application"]
