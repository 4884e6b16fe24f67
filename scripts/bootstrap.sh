#!/usr/bin/env bash
# Creates .venv (Python >= 3.12) and installs the locked dependencies when the lock file
# changed since the last install. Safe to run every time; the run and test commands do.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=()
  if command -v pyenv >/dev/null 2>&1; then
    local root; root="$(pyenv root)"
    candidates+=("$root/versions/$(cat .python-version)/bin/python")
  fi
  candidates+=(python3.13 python3.12 python3)
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  echo "Mission Control needs Python 3.12 or newer (3.13 recommended); none was found on PATH." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python="$(find_python)"
  echo "Creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi

stamp=.venv/.requirements.sha256
want="$(sha256sum requirements.lock | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing locked dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
  echo "$want" > "$stamp"
fi

# htmx for the console's drawer and in-place edits, from the npm registry, hash-checked. Offline,
# it prints one warning and the console works without it (scripts/htmx.py).
.venv/bin/python scripts/htmx.py install || true
