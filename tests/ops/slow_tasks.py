"""A job for the worker tests: slow on its first run, instant on the next, so a test can
kill the worker running it and watch another worker finish it."""

from __future__ import annotations

import time
from pathlib import Path

from django.tasks import task


@task()
def slow_the_first_time(marker: str, seconds: float) -> str:
    path = Path(marker)
    if path.exists():
        return "second run"
    path.write_text("started")
    time.sleep(seconds)
    return "first run"


CALLS: list[str] = []


@task()
def remember(name: str) -> str:
    """Records each run in ``CALLS`` (worker tests in this process); fails for ``"fail"``."""
    CALLS.append(name)
    if name == "fail":
        raise RuntimeError("asked to fail")
    return f"done {name}"
