#!/usr/bin/env bash
# One command on a fresh clone: set up .venv (with a Node.js for the JupyterLab extension's build from
# PyPI when the machine has none new enough), install jupyter-sigstore into it, then run the offline demo
# (sign the example notebook and its outputs, verify, show a tampered copy failing).
#
#   ./scripts/quickstart.sh [--keep DIR]      # DIR keeps the demo's files (default: a temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
ensure_venv
ensure_node
echo "Installing jupyter-sigstore into .venv (the first run builds the JupyterLab extension: about a minute) ..."
python -m pip install --quiet -e .
exec python examples/demo.py "$@"
