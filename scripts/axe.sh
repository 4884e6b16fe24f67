#!/usr/bin/env bash
# axe-core, the accessibility engine the browser tests run on every console page: the npm
# package pinned in scripts/axe/package-lock.json, installed into a cache folder outside the
# repository, once per machine.
#
#   scripts/axe.sh install   install (npm ci: refuses a tarball whose integrity differs from the lock)
#   scripts/axe.sh path      print the path of the installed axe.min.js, after checking its hash
#
# The cache is ${MC_CACHE_DIR:-$HOME/.cache/missioncontrol}/axe/<version>/.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
LOCK_DIR="$HERE/axe"
VERSION=4.14.1
# sha256 of node_modules/axe-core/axe.min.js in that version's tarball. npm ci checks the
# tarball against the lock; this checks the one file the tests inject, every time they ask.
SCRIPT_SHA256=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
DIR="${MC_CACHE_DIR:-$HOME/.cache/missioncontrol}/axe/$VERSION"
SCRIPT="$DIR/node_modules/axe-core/axe.min.js"

die() { echo "scripts/axe.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

script_matches() { [ -f "$SCRIPT" ] && [ "$(sha256sum "$SCRIPT" | cut -d' ' -f1)" = "$SCRIPT_SHA256" ]; }
# Written last, after the hash matched: a folder without it is an unfinished install.
is_installed() { [ "$(cat "$DIR/.installed" 2>/dev/null)" = "axe-core@$VERSION" ] && script_matches; }

install() {
  if is_installed; then
    echo "axe-core $VERSION: already installed in $DIR"
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install nodejs npm)"
  command -v flock >/dev/null 2>&1 || die "flock is not installed (Debian: apt-get install util-linux)"
  grep -q "\"axe-core\": \"$VERSION\"" "$LOCK_DIR/package.json" \
    || die "scripts/axe/package.json does not pin axe-core $VERSION; update both together"
  mkdir -p "$DIR"
  # Two installs at once (CI and a developer, two terminals) would write one node_modules.
  exec 9>"$DIR.lock"
  flock 9
  if is_installed; then
    echo "axe-core $VERSION: installed by another run in $DIR"
    return 0
  fi
  rm -f "$DIR/.installed"
  cp "$LOCK_DIR/package.json" "$LOCK_DIR/package-lock.json" "$DIR/"
  echo "axe-core $VERSION: installing into $DIR"
  # --ignore-scripts: axe-core needs none, and no package's script runs on this machine.
  if ! (cd "$DIR" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn) >"$DIR/install.log" 2>&1; then
    tail -n 20 "$DIR/install.log" >&2
    die "npm ci of axe-core@$VERSION failed; the full log is $DIR/install.log"
  fi
  script_matches || die "the installed $SCRIPT does not have the pinned sha256 $SCRIPT_SHA256; delete $DIR and run again"
  echo "axe-core@$VERSION" >"$DIR/.installed.tmp" && mv "$DIR/.installed.tmp" "$DIR/.installed"
  exec 9>&-
  echo "axe-core $VERSION: installed in $DIR"
}

case "${1:-}" in
  install) install ;;
  path)
    is_installed || die "axe-core $VERSION is not installed (or its axe.min.js differs from the pinned hash) in $DIR; run: scripts/axe.sh install"
    echo "$SCRIPT"
    ;;
  *) usage ;;
esac
