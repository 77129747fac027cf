#!/usr/bin/env bash
# Set up edl on a fresh machine: a virtual environment in .venv with edl and its
# dependencies (and, with --test, the test tools, the interop peers and PostgreSQL).
# Idempotent and non-interactive; safe to run again.
#
#   bash scripts/setup.sh          # the library and the `edl` command
#   bash scripts/setup.sh --test   # + pytest, hypothesis, interop peers, PostgreSQL
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

log() { printf '[setup] %s\n' "$*"; }

need_apt=()
command -v "$PYTHON" >/dev/null || need_apt+=(python3 python3-venv python3-pip)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "$WITH_TEST" = 1 ]; then
    command -v node >/dev/null || need_apt+=(nodejs)
    command -v npm >/dev/null || need_apt+=(npm)
    [ -e /usr/lib/softhsm/libsofthsm2.so ] || need_apt+=(softhsm2)
    ldconfig -p 2>/dev/null | grep -q libzbar.so.0 || need_apt+=(libzbar0)
    # the page's tests drive Debian's chromium with the PyPI playwright (never `playwright install`)
    [ -x /usr/bin/chromium ] || need_apt+=(chromium)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    log "installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

extras="."
[ "$WITH_TEST" = 1 ] && extras=".[test]"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)-$extras"
stamp=".venv/.edl-stamp"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log ".venv is up to date"
else
    [ -x .venv/bin/python ] || { log "creating .venv"; "$PYTHON" -m venv .venv; }
    log "installing edl$([ "$WITH_TEST" = 1 ] && echo ' with test tools') into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input -e "$extras"
    printf '%s\n' "$want" > "$stamp"
fi

if [ "$WITH_TEST" = 1 ]; then
    bash scripts/setup-interop.sh
    bash scripts/ensure-postgres.sh
fi
log "ready: .venv/bin/edl"
