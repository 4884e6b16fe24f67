"""The product's WSGI application with the rate limiter's clock under the test's control:
stopped at ``TEST_THROTTLE_CLOCK`` (seconds since the epoch), so a burst against a real
server is counted at one moment whatever the wall clock says; or, with
``TEST_THROTTLE_CLOCK_FILE``, read from that file on every call, so a test moves time for
every server it started by writing the file. gunicorn loads it in the master
(``preload_app``), so every worker it forks has the same clock."""

from __future__ import annotations

import os
from pathlib import Path

from missioncontrol.wsgi import application
from ops import throttle

if os.environ.get("TEST_THROTTLE_CLOCK_FILE"):
    _CLOCK_FILE = Path(os.environ["TEST_THROTTLE_CLOCK_FILE"])
    throttle.clock = lambda: float(_CLOCK_FILE.read_text())
else:
    _NOW = float(os.environ["TEST_THROTTLE_CLOCK"])
    throttle.clock = lambda: _NOW

__all__ = ["application"]
