#!/usr/bin/env bash
# One command: set everything up in .venv and run the offline demo
# (sign the example notebook and its outputs, verify, show a tampered copy failing).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "Installing jupyter-sigstore into .venv (first run builds the JupyterLab extension: about a minute) ..."
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python examples/demo.py "$@"
