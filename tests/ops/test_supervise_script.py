"""``scripts/supervise.sh``, which ``make run`` starts the worker under: a worker that dies
is started again, and stopping the script stops the worker with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "supervise.sh"


def wait_for_lines(path: Path, count: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{path} has {path.read_text() if path.exists() else 'nothing'}")


def test_a_command_that_dies_is_started_again(tmp_path):
    starts = tmp_path / "starts"
    dies = f"import os; open({str(starts)!r}, 'a').write(f'{{os.getpid()}}\\n'); raise SystemExit(3)"
    supervisor = subprocess.Popen([str(SCRIPT), sys.executable, "-c", dies], stderr=subprocess.PIPE,
                                  env={**os.environ, "SUPERVISE_RESTART_DELAY": "0.1"})
    try:
        pids = wait_for_lines(starts, 3)
        assert len(set(pids)) == len(pids)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        _out, errors = supervisor.communicate(timeout=10)
    assert supervisor.returncode == 0
    assert b"exited with status 3; starting it again" in errors


def test_stopping_the_script_stops_the_command_and_does_not_restart_it(tmp_path):
    starts = tmp_path / "starts"
    lives = (f"import os, time; open({str(starts)!r}, 'a').write(f'{{os.getpid()}}\\n'); "
             "time.sleep(60)")
    supervisor = subprocess.Popen([str(SCRIPT), sys.executable, "-c", lives],
                                  env={**os.environ, "SUPERVISE_RESTART_DELAY": "0.1"})
    (pid,) = wait_for_lines(starts, 1)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=10) == 0
    time.sleep(0.3)
    assert len(starts.read_text().split()) == 1
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        pass
    else:
        os.kill(int(pid), signal.SIGKILL)
        raise AssertionError("the command outlived the script")


def test_make_run_keeps_the_worker_under_the_script():
    script = (REPO / "scripts" / "run.sh").read_text()
    assert "scripts/supervise.sh $py manage.py db_worker &" in script
