#!/usr/bin/env python3
"""htmx for the console: the npm tarball of htmx.org at a pinned version, checked against the
integrity the registry published for it, and its dist/htmx.min.js checked once more.

    scripts/htmx.py install   download, check and place static/vendor/htmx.min.js (once)
    scripts/htmx.py check     exit 0 when the placed file has the pinned sha256, else 1

The file is not kept in git. static/vendor/ is ignored and sits under STATICFILES_DIRS, so
collectstatic and whitenoise serve it like the console's own files. When it is missing the
console leaves the script tag out and every page works as it does without JavaScript.

Standard library only: bootstrap runs it before or without the virtualenv.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

VERSION = "2.0.11"
TARBALL = f"https://registry.npmjs.org/htmx.org/-/htmx.org-{VERSION}.tgz"
# dist.integrity of htmx.org@2.0.11 in the registry's metadata: sha512 of the whole tarball.
TARBALL_INTEGRITY = ("sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjn"
                     "IMCgELTNt636dtamA==")
MEMBER = "package/dist/htmx.min.js"
# sha256 of that member: the file the browser runs, checked on every install and check.
SCRIPT_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "static" / "vendor" / "htmx.min.js"
TIMEOUT = 30


class InstallError(Exception):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def installed() -> bool:
    try:
        return sha256(TARGET.read_bytes()) == SCRIPT_SHA256
    except OSError:
        return False


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "missioncontrol-bootstrap"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read()
    except OSError as exc:  # URLError, timeouts and refused connections are all OSError
        raise InstallError(f"could not download {url}: {exc}") from exc


def script_from(tarball: bytes) -> bytes:
    algorithm, _, expected = TARBALL_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        raise InstallError(f"the tarball of htmx.org {VERSION} does not have the pinned {algorithm}; "
                           "it was not used")
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise InstallError(f"{MEMBER} in the tarball is not a file")
            script = member.read()
    except (tarfile.TarError, KeyError) as exc:
        raise InstallError(f"could not read {MEMBER} from the tarball: {exc}") from exc
    if sha256(script) != SCRIPT_SHA256:
        raise InstallError(f"{MEMBER} does not have the pinned sha256 {SCRIPT_SHA256}; it was not used")
    return script


def place(script: bytes) -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=TARGET.parent, prefix=".htmx-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(script)
        os.chmod(tmp, 0o644)
        os.replace(tmp, TARGET)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install() -> int:
    if installed():
        return 0
    try:
        place(script_from(fetch(TARBALL)))
    except InstallError as exc:
        # One warning, and bootstrap goes on: the console works without htmx.
        print(f"WARNING: htmx {VERSION} was not installed ({exc}). The console works without it; "
              "the task drawer and in-place edits stay off until scripts/htmx.py install succeeds.",
              file=sys.stderr)
        return 1
    print(f"htmx {VERSION}: installed in {TARGET.relative_to(ROOT)}")
    return 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "install":
        return install()
    if command == "check":
        return 0 if installed() else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
