"""Settings of the test suite: the product's, plus what only tests need."""

import os
import tempfile
from pathlib import Path

from missioncontrol.settings import *  # noqa: F403
from missioncontrol.settings import CACHES

# Django's advice for tests: the production hasher spent most of the suite's time hashing
# the test cast's passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# pytest-xdist workers share the machine's Redis: each worker (and the servers it starts,
# which inherit the variable) keeps its keys under a prefix of its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER:
    CACHES = {alias: {**cache, "KEY_PREFIX": f"{cache['KEY_PREFIX']}-{_WORKER}"} if "KEY_PREFIX" in cache else cache
              for alias, cache in CACHES.items()}

# A spool of the test process's own, unless a test gives its server one.
if not os.environ.get("WEBHOOK_SPOOL_DIR"):
    WEBHOOK_SPOOL_DIR = Path(tempfile.gettempdir()) / f"mc-test-spool-{os.getpid()}"

# On SQLite the test database is a file on tmpfs, not Django's default in-memory database:
# the browser tests' live server answers each request in a thread of its own, and threads
# sharing one in-memory database (shared cache) read each other's half-written rows and see
# "table is locked" when a page's live check and a form's post arrive together. A file gets
# the product's own SQLite settings (WAL, busy timeout) and a connection per thread.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _SHM = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    DATABASES["default"]["TEST"] = {"NAME": str(_SHM / f"mc-test-{os.getpid()}-{_WORKER or 'main'}.sqlite3")}  # noqa: F405
