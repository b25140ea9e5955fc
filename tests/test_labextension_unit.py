"""Runs the JupyterLab extension's jest unit tests (labextension/src/__tests__) under pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXT = Path(__file__).resolve().parent.parent / "labextension"


def _jlpm() -> list[str]:
    local = Path(sys.executable).parent / "jlpm"
    if local.exists():
        return [str(local)]
    found = shutil.which("jlpm")
    if found is None:
        pytest.skip("jlpm (from jupyterlab) is not installed")
    return [found]


@pytest.mark.timeout(600)
def test_jest_unit_tests_pass() -> None:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    if not (LABEXT / "node_modules").is_dir():
        subprocess.run([*_jlpm(), "install"], cwd=LABEXT, check=True, timeout=900)
    result = subprocess.run(
        [*_jlpm(), "test", "--ci"], cwd=LABEXT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "failed" not in result.stderr.split("Tests:")[-1].split("\n")[0]


@pytest.mark.timeout(300)
def test_eslint_and_prettier_report_no_problems() -> None:
    """`jlpm lint:check` (eslint + prettier --check over src/) passes: the extension code is lint-clean."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    if not (LABEXT / "node_modules").is_dir():
        pytest.skip("labextension/node_modules is absent (run `jlpm install` in labextension/)")
    result = subprocess.run([*_jlpm(), "lint:check"], cwd=LABEXT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
