#!/usr/bin/env bash
# Set up everything the tests need, then run the whole suite (slow and interop included).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
