"""A non-blocking lock on the backup folder, so scheduled runs never overlap."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.backups import BackupError

LOCK_NAME = ".backup.lock"


@contextmanager
def backup_lock(directory: Path) -> Iterator[Path]:
    """Held for the whole run; the kernel releases it if the process dies, so no stale locks."""
    path = directory / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip() or "another process"
            raise BackupError(f"Another backup is already running in {directory} (lock {path} is held "
                              f"by pid {holder}); this run stops without doing anything.") from exc
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(descriptor)
