#!/usr/bin/env bash
# Set up the interop peers used by tests/interop (see tests/interop/README.md):
#   - tests/interop/.venv-pymdoccbor : own venv with pymdoccbor==1.4.0 (pins pycose;
#     must never be installed into the main environment)
#   - tests/interop/node/node_modules : @auth0/mdl@3.0.1 via `npm ci`
# Idempotent and non-interactive: each part is skipped when a stamp file records
# the hash of the inputs it was built from. Exit status non-zero on any failure.
#
# Environment:
#   PYTHON=python3          interpreter used to create the venv
#   INTEROP_FORCE=1         rebuild both parts even if the stamps match
#   INTEROP_SKIP_NODE=1     skip the node part  (INTEROP_SKIP_PY=1 likewise)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INTEROP="$ROOT/tests/interop"
PYTHON="${PYTHON:-python3}"
VENV="$INTEROP/.venv-pymdoccbor"
REQS="$INTEROP/requirements-pymdoccbor.txt"
NODE_DIR="$INTEROP/node"

log() { printf '[setup-interop] %s\n' "$*"; }
die() { printf '[setup-interop] ERROR: %s\n' "$*" >&2; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

setup_python() {
    [ -f "$REQS" ] || die "missing $REQS"
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
    local pyver want stamp
    pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
    want="$(printf '%s\n%s\n' "$(hash_of "$REQS")" "$pyver" | sha256sum | cut -d' ' -f1)"
    stamp="$VENV/.edl-stamp"
    if [ "${INTEROP_FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$VENV/bin/python" -c 'import pymdoccbor, pycose, cryptography.x509' 2>/dev/null; then
        log "pymdoccbor venv up to date ($VENV)"
        return 0
    fi
    if [ -d "$VENV" ]; then
        log "removing stale venv $VENV"
        rm -rf "$VENV"
    fi
    log "creating venv $VENV with $PYTHON ($pyver)"
    "$PYTHON" -m venv "$VENV" || die "venv creation failed (Debian: apt-get install python3-venv)"
    log "pip install -r $(basename "$REQS")"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r "$REQS" || die "pip install failed"
    "$VENV/bin/python" -c 'import cryptography.x509, pymdoccbor.mdoc.verifier, pymdoccbor.mdoc.issuer' \
        || die "pymdoccbor import check failed"
    printf '%s\n' "$want" > "$stamp"
    log "pymdoccbor venv ready: $("$VENV/bin/python" -m pip freeze | grep -i '^pymdoccbor==')"
}

setup_node() {
    command -v node >/dev/null || die "node not found (need node >= 18)"
    command -v npm >/dev/null || die "npm not found"
    [ -f "$NODE_DIR/package.json" ] || die "missing $NODE_DIR/package.json"
    local files=("$NODE_DIR/package.json") want stamp
    [ -f "$NODE_DIR/package-lock.json" ] && files+=("$NODE_DIR/package-lock.json")
    want="$(printf '%s\n%s\n' "$(hash_of "${files[@]}")" "$(node --version)" | sha256sum | cut -d' ' -f1)"
    stamp="$NODE_DIR/node_modules/.edl-stamp"
    if [ "${INTEROP_FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && [ -f "$NODE_DIR/node_modules/@auth0/mdl/package.json" ]; then
        log "node peer up to date ($NODE_DIR/node_modules)"
        return 0
    fi
    if [ -f "$NODE_DIR/package-lock.json" ]; then
        log "npm ci in $NODE_DIR"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    else
        log "npm install in $NODE_DIR (no package-lock.json)"
        (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed"
    fi
    (cd "$NODE_DIR" && node -e 'require("@auth0/mdl")') || die "@auth0/mdl import check failed"
    printf '%s\n' "$want" > "$stamp"
    log "node peer ready: @auth0/mdl $(node -p "require('$NODE_DIR/node_modules/@auth0/mdl/package.json').version")"
}

[ "${INTEROP_SKIP_PY:-0}" = 1 ] && log "skipping python part (INTEROP_SKIP_PY=1)" || setup_python
[ "${INTEROP_SKIP_NODE:-0}" = 1 ] && log "skipping node part (INTEROP_SKIP_NODE=1)" || setup_node
log "done"
