#!/usr/bin/env bash
# One command: install everything the tests need, then run the whole suite
# (Python, the TypeScript unit tests and the browser tests, all driven by pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# Debian's Chromium for the browser tests (never a browser download of a test tool's own).
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Chromium from Debian's packages ..."
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "Installing jupyter-sigstore with its test extras (builds the JupyterLab extension) ..."
.venv/bin/python -m pip install --quiet -e ".[test]"

# Node modules for the sigstore-js interoperability test.
if [ -f tests/js/package-lock.json ]; then
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi

exec .venv/bin/python -m pytest "$@"
