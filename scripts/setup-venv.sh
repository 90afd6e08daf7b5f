#!/usr/bin/env bash
# Create the virtual environment and install Bluewatch with its test tools into it.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup: $PYTHON not found; Bluewatch needs Python 3.11 or newer" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: $("$PYTHON" --version) is too old; Bluewatch needs Python 3.11 or newer" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
fi
echo "setup: installing Python packages (pyproject.toml)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
