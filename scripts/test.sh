#!/usr/bin/env bash
# Usage: ./scripts/test.sh [PYTEST_ARGS...]
#
# What CI runs (.ci/run). Installs what the checks and tests need (Debian's Chromium if missing, .venv
# with the test and dev extras, a Node.js for the lab build if the machine has none new enough, the
# node modules of labextension/, tests/js and tests/emulators), then runs, stopping at the first failure:
#   ruff check, ruff format --check, mypy (strict), eslint + prettier and jest (labextension/),
#   then pytest in three lanes: fast (-m "not slow and not browser"), slow (-m slow), browser (-m browser),
# and prints each step's wall time.
#
# PYTEST_ARGS go to every pytest lane, e.g. `./scripts/test.sh -k countersign -x`; a lane they leave
# without tests passes. LANES="fast" runs only the named lanes; SKIP_CHECKS=1 skips the lint, type and
# jest steps (for a quick local run; CI runs everything).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

export PATH="$PWD/.venv/bin:$PATH" # the venv's tools (and a Node.js installed there) come first
LANES=${LANES:-fast slow browser}
RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT
SUMMARY=()

summary() {
  echo
  echo "=== wall time per step"
  printf '  %s\n' "${SUMMARY[@]}"
}

# step NAME COMMAND...: run (in a subshell with errexit on), time, stop everything on failure
step() {
  local name=$1 rc start end
  shift
  echo
  echo "=== $name"
  start=$(date +%s%N)
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  end=$(date +%s%N)
  local tenths=$(((end - start) / 100000000))
  local status="ok"
  [ "$rc" -eq 0 ] || status="FAILED (exit $rc)"
  SUMMARY+=("$(printf '%-34s %6d.%ds  %s' "$name" $((tenths / 10)) $((tenths % 10)) "$status")")
  if [ "$rc" -ne 0 ]; then
    summary
    exit "$rc"
  fi
}

install_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    return
  fi
  echo "Installing Chromium from Debian's packages (for the browser lane) ..."
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

# Reinstall (and so rebuild the lab extension) only when what the install depends on changed.
install_package() {
  local stamp=.venv/.jupyter-sigstore-install inputs
  inputs=$(find pyproject.toml build_labextension.py jupyter-config labextension/{package.json,yarn.lock,.yarnrc.yml} \
    labextension/{install.json,tsconfig.json,src,style,schema} -type f -print0 |
    sort -z | xargs -0 sha256sum | sha256sum)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] && [ -d jupyter_sigstore/labextension/static ]; then
    echo "jupyter-sigstore is installed in .venv and its inputs are unchanged"
  else
    echo "Installing jupyter-sigstore with its test and dev extras (builds the JupyterLab extension) ..."
    python -m pip install --quiet -e ".[test,dev]"
    echo "$inputs" >"$stamp"
  fi
  [ -d labextension/node_modules ] || (cd labextension && jlpm install)
  # sigstore-js, for the interoperability test
  [ -d tests/js/node_modules ] || (cd tests/js && npm ci --silent --no-audit --no-fund)
  # Azurite, the Azure Blob Storage emulator, for the az:// output tests
  [ -x tests/emulators/node_modules/.bin/azurite-blob ] ||
    (cd tests/emulators && npm ci --silent --no-audit --no-fund --ignore-scripts)
}

# lane NAME MARK_EXPRESSION: one pytest run; "no tests selected" (exit 5) is not a failure
lane() {
  local name=$1 marks=$2 rc=0
  python -m pytest -m "$marks" --durations=10 --junitxml="$RESULTS/$name.xml" ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"} || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "(no tests selected in the $name lane)"
    return 0
  fi
  return "$rc"
}

# One closing line for all lanes, from their JUnit reports.
totals() {
  python - "$RESULTS" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for report in Path(sys.argv[1]).glob("*.xml"):
    for suite in ET.parse(report).getroot().iter("testsuite"):
        for key in counts:
            counts[key] += int(suite.get(key, 0))
failed = counts["failures"] + counts["errors"]
passed = counts["tests"] - failed - counts["skipped"]
print(f"pytest: {passed} passed, {failed} failed, {counts['skipped']} skipped")
EOF
}

PYTEST_ARGS=("$@")
step "install: Chromium" install_chromium
step "install: .venv" ensure_venv
step "install: Node.js" ensure_node
step "install: package, node modules" install_package

if [ "${SKIP_CHECKS:-0}" != "1" ]; then
  step "ruff check" ruff check .
  step "ruff format --check" ruff format --check .
  step "mypy (strict)" mypy jupyter_sigstore
  step "eslint + prettier (labextension)" bash -c "cd labextension && jlpm lint:check"
  step "jest (labextension)" bash -c "cd labextension && jlpm test --ci"
fi
for name in $LANES; do
  case $name in
    fast) step "pytest lane: fast" lane fast "not slow and not browser" ;;
    slow) step "pytest lane: slow" lane slow "slow" ;;
    browser) step "pytest lane: browser" lane browser "browser" ;;
    *)
      echo "error: unknown lane $name (fast, slow, browser)" >&2
      exit 2
      ;;
  esac
done
summary
totals
