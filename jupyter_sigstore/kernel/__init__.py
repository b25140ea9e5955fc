"""jupyter-sigstore inside a kernel: the ``%sigstore`` magics, the front-end comm, the kernel's login
and the ipywidgets provenance panel (:mod:`.widgets`, imported only when used).

Load it with ``%load_ext jupyter_sigstore``.
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%sigstore`` magics and open the front-end comm (in a Jupyter kernel)."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Close the comm and remove the hooks."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)
