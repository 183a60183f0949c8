#!/usr/bin/env bash
# demo-tests.sh - run the demo application's test suite (demo/tests).
#
# Usage: scripts/demo-tests.sh [pytest arguments...]
#
# Sets up a virtualenv in target/demo-venv (reused across runs; its packages
# are reinstalled only when demo/requirements*.txt change), builds the release
# binary if the tests need it and it is missing, then runs pytest.
#
# Environment (all optional):
#   FERROKEY_BIN  server binary the tests start (default target/release/ferrokey;
#                 when set, nothing is built)
#   VALKEY_URL    run against this already running server instead, e.g.
#                 valkey://127.0.0.1:6379/0 (its database is flushed!)
#   PYTHON        interpreter for the virtualenv (default python3, >= 3.11)
#
# Exit: pytest's status; 2 when the environment cannot be set up.

set -euo pipefail

die() { echo "demo-tests: $*" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/target/demo-venv
PYTHON=${PYTHON:-python3}

command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON is older than 3.11"

make_venv() { rm -rf "$VENV" && "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; }

if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    mkdir -p "$ROOT/target"
    if ! make_venv; then
        # Debian ships venv's bootstrap (ensurepip) in a separate package
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            echo "demo-tests: installing python3-venv" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            make_venv || die "cannot create a virtualenv in $VENV"
        else
            die "cannot create a virtualenv in $VENV (install python3-venv)"
        fi
    fi
fi

STAMP=$VENV/.requirements.sha256
WANT=$(cat "$ROOT/demo/requirements.txt" "$ROOT/demo/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    echo "demo-tests: installing demo/requirements-dev.txt" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$ROOT/demo/requirements-dev.txt"
    echo "$WANT" >"$STAMP"
fi

if [ -z "${VALKEY_URL:-}" ] && [ -z "${FERROKEY_BIN:-}" ] \
    && [ ! -x "$ROOT/target/release/ferrokey" ]; then
    echo "demo-tests: building target/release/ferrokey" >&2
    (cd "$ROOT" && cargo build --release)
fi

cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q demo/tests "$@"
